import { PermanentError } from "./permanent-error.js";

/**
 * The request is well formed but the thing it names is in a state that refuses it (a cancelled
 * run asked to run again, an apply run asked to be applied): asking again cannot help until
 * someone changes that state.
 */
export class ConflictError extends PermanentError {
  constructor(message: string, options?: { cause?: unknown }) {
    super("conflict", message, options);
  }
}
