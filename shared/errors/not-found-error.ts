import { PermanentError } from "./permanent-error.js";

/** What a request names does not exist (a run id, a schedule): asking again cannot help. */
export class NotFoundError extends PermanentError {
  constructor(message: string, options?: { cause?: unknown }) {
    super("not_found", message, options);
  }
}
