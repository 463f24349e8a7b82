import path from "node:path";
import { PermanentError } from "./permanent-error.js";

/**
 * A model bundle that cannot be used. The message is one line naming the bundle
 * file and the field at fault, e.g. `models/demo/manifest.json: files.encoder.onnx.sha256: ...`.
 */
export class BundleError extends PermanentError {
  readonly file: string;
  readonly field: string | undefined;
  readonly reason: string;

  constructor(file: string, field: string | undefined, reason: string, options?: { cause?: unknown }) {
    super("bundle_invalid", `${file}${field ? `: ${field}` : ""}: ${reason}`, options);
    this.file = file;
    this.field = field;
    this.reason = reason;
  }

  /** The same error with the file named by its path inside bundle folder `dir`. */
  inBundle(dir: string): BundleError {
    return new BundleError(path.join(dir, this.file), this.field, this.reason, { cause: this.cause });
  }
}
