/**
 * Base of Facet's typed errors. Each carries a stable machine-readable `code`
 * (recorded as the reason of a failed product) and says whether retrying can help.
 */
export abstract class FacetError extends Error {
  abstract readonly retryable: boolean;
  readonly code: string;

  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = new.target.name;
  }
}
