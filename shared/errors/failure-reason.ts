import { ConfigError } from "./config-error.js";
import type { ItemReason } from "./error-code.js";
import { PermanentError } from "./permanent-error.js";
import { TransientError } from "./transient-error.js";

/**
 * The reason code an item fails with when `error` ends it: a permanent error's own code (a missing
 * object is `photo_missing`), a transient one's code once its retries are spent (`<code>_exhausted`),
 * anything else `transient_exhausted`. The worker and the dataset export use the same codes.
 */
export function failureReason(error: unknown): ItemReason {
  if (error instanceof TransientError) return `${error.code}_exhausted`;
  if (error instanceof PermanentError || error instanceof ConfigError) return error.code === "object_missing" ? "photo_missing" : error.code;
  return "transient_exhausted";
}
