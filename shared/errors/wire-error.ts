import { BundleError } from "./bundle-error.js";
import { isPermanentCode, isTransientCode } from "./error-code.js";
import { FacetError } from "./facet-error.js";
import { ConfigError } from "./config-error.js";
import { ConflictError } from "./conflict-error.js";
import { NotFoundError } from "./not-found-error.js";
import { PermanentError } from "./permanent-error.js";
import { TransientError } from "./transient-error.js";

/**
 * An error as it crosses a thread or process boundary (postMessage, a job's failure): a
 * structured clone keeps only an Error's name and message, so a permanent error would come back
 * as a plain Error, which the worker retries. This keeps its code and whether retrying helps.
 */
export interface WireError {
  name: string;
  message: string;
  code?: string;
  /** FacetError's `retryable`; absent for errors that are not Facet's. */
  retryable?: boolean;
  retryAfterMs?: number;
  /** A BundleError's parts, so it comes back as one (the model cache refetches a bundle on it). */
  bundle?: { file: string; field: string | undefined; reason: string };
}

export function toWireError(error: unknown): WireError {
  if (error instanceof FacetError) {
    return {
      name: error.name,
      message: error.message,
      code: error.code,
      retryable: error.retryable,
      ...(error instanceof TransientError && error.retryAfterMs !== undefined ? { retryAfterMs: error.retryAfterMs } : {}),
      ...(error instanceof BundleError ? { bundle: { file: error.file, field: error.field, reason: error.reason } } : {}),
    };
  }
  const code = (error as { code?: unknown })?.code;
  return {
    name: error instanceof Error ? error.name : "Error",
    message: error instanceof Error ? error.message : String(error),
    ...(typeof code === "string" ? { code } : {}),
  };
}

/** Permanent errors that come back as their own class (callers tell them apart with instanceof). */
const PERMANENT_KINDS: Record<string, new (message: string) => PermanentError | ConfigError> = { NotFoundError, ConflictError, ConfigError };

/**
 * The error on this side: a BundleError, NotFoundError, ConflictError or ConfigError as itself, another
 * PermanentError or TransientError with the same code (`permanent` or `transient` when the code
 * is not one of ErrorCode's), name and message, or a plain Error.
 */
export function fromWireError(wire: WireError): Error {
  let error: Error;
  const Kind = wire.retryable === false ? PERMANENT_KINDS[wire.name] : undefined;
  if (wire.bundle) error = new BundleError(wire.bundle.file, wire.bundle.field, wire.bundle.reason);
  else if (Kind) error = new Kind(wire.message);
  else if (wire.retryable === true) {
    const code = isTransientCode(wire.code) ? wire.code : "transient";
    error = new TransientError(code, wire.message, wire.retryAfterMs !== undefined ? { retryAfterMs: wire.retryAfterMs } : {});
  } else if (wire.retryable === false) error = new PermanentError(isPermanentCode(wire.code) ? wire.code : "permanent", wire.message);
  else {
    error = new Error(wire.message);
    if (wire.code) Object.assign(error, { code: wire.code });
  }
  error.name = wire.name;
  return error;
}
