import { describe, expect, it } from "vitest";
import { BundleError } from "./bundle-error.js";
import { ConfigError } from "./config-error.js";
import { ConflictError } from "./conflict-error.js";
import { NotFoundError } from "./not-found-error.js";
import { PermanentError } from "./permanent-error.js";
import { TransientError } from "./transient-error.js";
import { fromWireError, toWireError } from "./wire-error.js";

/** What postMessage does to a message: a structured clone. */
const across = <T>(value: T): T => structuredClone(value);

describe("errors across a thread boundary", () => {
  it("a permanent error stays permanent, with its code, name and message", () => {
    const back = fromWireError(across(toWireError(new BundleError("manifest.json", "files", "missing"))));
    expect(back).toBeInstanceOf(PermanentError);
    expect(back).toMatchObject({ retryable: false, code: "bundle_invalid", name: "BundleError", message: "manifest.json: files: missing" });
  });

  it("a bundle error comes back as a BundleError with its file, field and reason", () => {
    const back = fromWireError(across(toWireError(new BundleError("decoder.onnx", "inputs.tokens", "missing"))));
    expect(back).toBeInstanceOf(BundleError);
    expect(back).toMatchObject({ file: "decoder.onnx", field: "inputs.tokens", reason: "missing", message: "decoder.onnx: inputs.tokens: missing" });
  });

  it("a transient error stays transient, with its retry-after floor", () => {
    const back = fromWireError(across(toWireError(new TransientError("object_throttled", "slow down", { retryAfterMs: 1500 }))));
    expect(back).toBeInstanceOf(TransientError);
    expect(back).toMatchObject({ retryable: true, code: "object_throttled", retryAfterMs: 1500 });
  });

  it("a not-found, conflict or config error comes back as its own class", () => {
    for (const error of [new NotFoundError("unknown run id 'run_x'"), new ConflictError("run r is cancelled; it cannot become running"), new ConfigError("BATCH_SIZE=0: too small")]) {
      const back = fromWireError(across(toWireError(error)));
      expect(back).toBeInstanceOf(error.constructor);
      expect(back).toMatchObject({ retryable: false, code: error.code, name: error.name, message: error.message });
    }
  });

  it("an error that is not Facet's stays a plain Error, keeping a string code", () => {
    const back = fromWireError(across(toWireError(Object.assign(new RangeError("bad shape"), { code: "ERR_X" }))));
    expect(back).not.toBeInstanceOf(PermanentError);
    expect(back).not.toBeInstanceOf(TransientError);
    expect(back).toMatchObject({ name: "RangeError", message: "bad shape", code: "ERR_X" });
    expect(fromWireError(across(toWireError("a string")))).toMatchObject({ name: "Error", message: "a string" });
  });

  it("a code that is not one of ErrorCode's (another version, another sender) keeps only its kind", () => {
    const back = fromWireError(across({ name: "PermanentError", message: "gone", code: "made_up", retryable: false }));
    expect(back).toMatchObject({ retryable: false, code: "permanent", message: "gone" });
    const again = fromWireError(across({ name: "TransientError", message: "later", code: "photo_corrupt", retryable: true }));
    expect(again).toMatchObject({ retryable: true, code: "transient" });
  });
});
