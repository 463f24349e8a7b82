import type { PermanentCode } from "./error-code.js";
import { FacetError } from "./facet-error.js";

/**
 * Retrying cannot help: a corrupt or missing photo, an invalid model bundle, a product
 * that is gone. The item fails with `code` as its reason; nothing else is affected.
 */
export class PermanentError extends FacetError<PermanentCode> {
  readonly retryable = false;
}
