import { FacetError } from "./facet-error.js";

/** A bad flag, environment variable or config key: the process exits 2 with this one line. */
export class ConfigError extends FacetError<"config_invalid"> {
  readonly retryable = false;

  constructor(message: string, options?: { cause?: unknown }) {
    super("config_invalid", message, options);
  }
}
