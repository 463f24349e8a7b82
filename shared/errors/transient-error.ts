import type { TransientCode } from "./error-code.js";
import { FacetError } from "./facet-error.js";

/**
 * May succeed later: timeouts, 5xx, throttling, connection resets. Retried with
 * exponential backoff and jitter; `retryAfterMs` is a floor when the source said so.
 */
export class TransientError extends FacetError<TransientCode> {
  readonly retryable = true;
  readonly retryAfterMs: number | undefined;

  constructor(code: TransientCode, message: string, options?: { cause?: unknown; retryAfterMs?: number }) {
    super(code, message, options);
    this.retryAfterMs = options?.retryAfterMs;
  }
}
