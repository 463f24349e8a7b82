import { PermanentError } from "./permanent-error.js";

/**
 * A model bundle that cannot be used. The message is one line naming the bundle
 * file and the field at fault, e.g. `manifest.json: files.encoder.onnx.sha256: ...`.
 */
export class BundleError extends PermanentError {
  readonly file: string;
  readonly field: string | undefined;

  constructor(file: string, field: string | undefined, reason: string, options?: { cause?: unknown }) {
    super("bundle_invalid", `${file}${field ? `: ${field}` : ""}: ${reason}`, options);
    this.file = file;
    this.field = field;
  }
}
