import { TransientError } from "./transient-error.js";

/**
 * `fn` again after a TransientError, up to `attempts` calls in all, with exponential backoff and
 * full jitter (many callers failing together do not retry in step) and at least the source's
 * `retryAfterMs`. A permanent error, or the last transient one, is thrown as it is. For tools that
 * have no queue to retry for them (the demo seeder, the dataset export); the pipeline's jobs are
 * retried by BullMQ instead.
 */
export async function retryTransient<T>(fn: () => Promise<T>, options: { attempts: number; baseDelayMs?: number }): Promise<T> {
  const base = options.baseDelayMs ?? 200;
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn();
    } catch (error) {
      if (!(error instanceof TransientError) || attempt >= options.attempts) throw error;
      const delayMs = Math.max(error.retryAfterMs ?? 0, Math.random() * base * 2 ** attempt);
      await new Promise((resolve) => setTimeout(resolve, delayMs));
    }
  }
}
