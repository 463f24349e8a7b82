import { ConfigError, ConflictError, FacetError, NotFoundError } from "../shared/errors/index.js";
import { PhotoError } from "../models/runtime/preprocess.js";
import { TextChangedError } from "../shared/ledger/review-decisions.js";

/**
 * Every error `facet serve` answers with, as JSON: `{"error": {"status", "code", "message",
 * "field", "rule"}}`. `field` names the request part at fault (`photos[1]`, `body.mode`,
 * `params.id`, `authorization`) and `rule` the rule it broke (`max_bytes`, `type`, `pixels`,
 * `required`, `role`, `rate`…), so a client can show the artisan what to fix.
 */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly field?: string,
    readonly rule?: string,
    /** More for the client to show (a 409's current text). */
    readonly detail?: Record<string, unknown>,
  ) {
    super(message);
    this.name = "ApiError";
  }

  toJSON() {
    return { error: { status: this.status, code: this.code, message: this.message, ...(this.field ? { field: this.field } : {}), ...(this.rule ? { rule: this.rule } : {}), ...(this.detail ? { detail: this.detail } : {}) } };
  }
}

/** HTTP status for a photo the preprocessor refused: a type it does not take is 415, the rest 422 (or 413 for a pixel bomb). */
function photoStatus(code: string): number {
  if (code === "photo_unsupported_format" || code === "photo_format_unknown") return 415;
  if (code === "photo_too_large") return 413;
  return 422;
}

const PHOTO_RULES: Record<string, string> = {
  photo_empty: "not_empty",
  photo_unsupported_format: "type",
  photo_format_unknown: "type",
  photo_corrupt: "decodable",
  photo_truncated: "complete",
  photo_too_large: "pixels",
};

/** Fastify's and its plugins' own errors, by code: what the client sent wrong. */
const FASTIFY_ERRORS: Record<string, { status: number; field: string; rule: string }> = {
  FST_ERR_CTP_INVALID_JSON_BODY: { status: 400, field: "body", rule: "json" },
  FST_ERR_CTP_EMPTY_JSON_BODY: { status: 400, field: "body", rule: "json" },
  FST_ERR_CTP_INVALID_MEDIA_TYPE: { status: 415, field: "content-type", rule: "type" },
  FST_ERR_CTP_BODY_TOO_LARGE: { status: 413, field: "body", rule: "max_bytes" },
  FST_INVALID_MULTIPART_CONTENT_TYPE: { status: 415, field: "content-type", rule: "multipart" },
  FST_REQ_FILE_TOO_LARGE: { status: 413, field: "photos", rule: "max_bytes" },
  FST_FILES_LIMIT: { status: 413, field: "photos", rule: "max_count" },
  FST_PARTS_LIMIT: { status: 413, field: "body", rule: "max_parts" },
  FST_FIELDS_LIMIT: { status: 413, field: "body", rule: "max_fields" },
  FST_PROTO_VIOLATION: { status: 400, field: "body", rule: "field_name" },
  FST_ERR_VALIDATION: { status: 400, field: "body", rule: "schema" },
  // The console's forms (@fastify/csrf-protection): a missing, stale or forged token.
  FST_CSRF_MISSING_SECRET: { status: 403, field: "_csrf", rule: "csrf_token" },
  FST_CSRF_INVALID_TOKEN: { status: 403, field: "_csrf", rule: "csrf_token" },
};

/** Any error a route or hook threw, as the ApiError the client gets (500 for what is not the client's doing). */
export function toApiError(error: unknown): ApiError {
  if (error instanceof ApiError) return error;
  if (error instanceof PhotoError) {
    const field = error.photo === undefined ? "photos" : `photos[${error.photo}]`;
    return new ApiError(photoStatus(error.code), error.code, error.message, field, PHOTO_RULES[error.code] ?? "photo");
  }
  if (error instanceof TextChangedError) return new ApiError(409, "text_changed", error.message, undefined, undefined, { product_id: error.productId, current_text: error.currentText });
  if (error instanceof NotFoundError) return new ApiError(404, "not_found", error.message);
  if (error instanceof ConflictError) return new ApiError(409, "conflict", error.message);
  if (error instanceof ConfigError) return new ApiError(400, "invalid", error.message);
  const e = error as { code?: unknown; statusCode?: unknown; validation?: Array<{ instancePath?: string; params?: Record<string, unknown>; message?: string }>; validationContext?: string; message?: string };
  if (Array.isArray(e.validation) && e.validation.length > 0) {
    const first = e.validation[0] as { instancePath?: string; params?: Record<string, unknown>; message?: string };
    const missing = typeof first.params?.missingProperty === "string" ? `/${first.params.missingProperty}` : "";
    const extra = typeof first.params?.additionalProperty === "string" ? `/${first.params.additionalProperty}` : "";
    const field = `${e.validationContext ?? "body"}${`${first.instancePath ?? ""}${missing}${extra}`.replaceAll("/", ".")}`;
    return new ApiError(400, "invalid", `${field}: ${first.message ?? "invalid"}`, field, missing ? "required" : extra ? "unknown_field" : "schema");
  }
  if (typeof e.code === "string" && FASTIFY_ERRORS[e.code]) {
    const known = FASTIFY_ERRORS[e.code] as { status: number; field: string; rule: string };
    return new ApiError(known.status, "invalid", e.message ?? e.code, known.field, known.rule);
  }
  if (e.statusCode === 429) return new ApiError(429, "rate_limited", e.message ?? "too many requests", "authorization", "rate");
  if (typeof e.statusCode === "number" && e.statusCode >= 400 && e.statusCode < 500) return new ApiError(e.statusCode, "invalid", e.message ?? "bad request");
  if (error instanceof FacetError && error.retryable) return new ApiError(503, "unavailable", `${error.message} (try again)`);
  return new ApiError(500, "internal", "internal error (logged)");
}
