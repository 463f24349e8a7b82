import { FacetError } from "./facet-error.js";

/**
 * The reason code an item fails with when `error` ends it: a permanent error's own code (a missing
 * object is `photo_missing`), a transient one's code once its retries are spent (`<code>_exhausted`),
 * anything else `transient_exhausted`. The worker and the dataset export use the same codes.
 */
export function failureReason(error: unknown): string {
  if (!(error instanceof FacetError)) return "transient_exhausted";
  if (error.retryable) return `${error.code}_exhausted`;
  return error.code === "object_missing" ? "photo_missing" : error.code;
}
