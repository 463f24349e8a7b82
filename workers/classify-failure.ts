import { failureReason, FacetError, TransientError, type ItemReason } from "../shared/errors/index.js";

/** A dependency an error came from, for facet_dependency_errors_total. */
export type Dependency = "postgres" | "s3";

/** What the worker does with an error from a job: try again later, or end the item with a reason. */
export type FailureDecision =
  | {
      kind: "retry";
      /** What to throw to BullMQ, which retries the job with backoff: a TransientError or Postgres's own error. */
      error: Error;
      /** The retry's cause, for facet_retries_total: the error's code, `<dependency>_error`, or `unexpected`. */
      cause: string;
      dependency: Dependency | undefined;
    }
  | {
      kind: "fail";
      /** The item's reason (`photo_corrupt`, `object_timeout_exhausted`, …). */
      reason: ItemReason;
      detail: string;
      dependency: Dependency | undefined;
    };

/** The dependency an error came from (undefined: not a dependency's). */
export function dependencyOf(error: unknown): Dependency | undefined {
  if (error instanceof FacetError) {
    return error.code.startsWith("object_") && error.code !== "object_missing" && error.code !== "object_key_invalid" ? "s3" : undefined;
  }
  const code = (error as { code?: unknown })?.code;
  // pg: a five-character SQLSTATE; or the socket's errno while reaching Postgres.
  if (typeof code === "string" && (/^[0-9A-Z]{5}$/.test(code) || /^E[A-Z]+$/.test(code))) return "postgres";
  if (error instanceof Error && /Knex: Timeout acquiring a connection|Connection terminated|Client has encountered a connection error/i.test(error.message)) return "postgres";
  return undefined;
}

/**
 * The one rule for every error a describe job meets, wherever it came from (the run's row,
 * the item lookup, a photo, preprocessing, the model, the write): a permanent error ends
 * the item with its own code; anything else is retried while attempts remain (`attempt` is
 * 1-based, of `attempts`), and on the last one ends the item as `<code>_exhausted`.
 */
export function classifyFailure(error: unknown, attempt: { attempt: number; attempts: number }): FailureDecision {
  const dependency = dependencyOf(error);
  const permanent = error instanceof FacetError && !error.retryable;
  if (permanent || attempt.attempt >= attempt.attempts) {
    return { kind: "fail", reason: failureReason(error), detail: error instanceof Error ? error.message : String(error), dependency };
  }
  const cause = error instanceof FacetError ? error.code : dependency ? `${dependency}_error` : "unexpected";
  // Postgres's errors keep their class and SQLSTATE for the log; anything else unknown is transient.
  const retried =
    error instanceof TransientError || dependency === "postgres"
      ? (error as Error)
      : new TransientError("transient", error instanceof Error ? error.message : String(error), { cause: error });
  return { kind: "retry", error: retried, cause, dependency };
}
