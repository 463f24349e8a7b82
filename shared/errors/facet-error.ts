import type { ErrorCode } from "./error-code.js";

/**
 * Base of Facet's typed errors. Each carries a stable machine-readable `code`
 * (recorded as the reason of a failed product) and says whether retrying can help.
 */
export abstract class FacetError<Code extends ErrorCode = ErrorCode> extends Error {
  abstract readonly retryable: boolean;
  readonly code: Code;

  constructor(code: Code, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = new.target.name;
  }
}
