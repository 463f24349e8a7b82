/**
 * Every code a FacetError may carry: one list, so a code is spelled once and an unknown one is
 * a type error. The code is stable: it is stored as a failed item's reason (a permanent error's
 * code as it is, a transient one's as `<code>_exhausted`), labels facet_retries_total, and
 * crosses thread and process boundaries (wire-error.ts).
 */
export const PERMANENT_CODES = [
  // A product's photos (models/runtime/preprocess.ts, the demo seeder).
  "photo_none",
  "photo_empty",
  "photo_unsupported_format",
  "photo_corrupt",
  "photo_truncated",
  "photo_too_large",
  "photo_format_unknown",
  // The object store (photos and model bundles).
  "object_missing",
  "object_key_invalid",
  "object_forbidden",
  "object_rejected",
  "object_write_refused",
  // Model bundles and the worker's local cache of them.
  "bundle_invalid",
  "model_cache_unwritable",
  // A flag, variable, file or store setting; an unknown run or schedule; a move the ledger refuses.
  "config_invalid",
  "not_found",
  "conflict",
  // A permanent error from across a boundary that named no code.
  "permanent",
] as const;

export const TRANSIENT_CODES = [
  "object_throttled",
  "object_server_error",
  "object_timeout",
  "object_unreachable",
  "object_read_failed",
  "object_write_failed",
  "model_cache_failed",
  // An error of no known kind, retried as transient (its retries spent: transient_exhausted).
  "transient",
] as const;

export type PermanentCode = (typeof PERMANENT_CODES)[number];
export type TransientCode = (typeof TRANSIENT_CODES)[number];
export type ErrorCode = PermanentCode | TransientCode;

const PERMANENT: ReadonlySet<string> = new Set(PERMANENT_CODES);
const TRANSIENT: ReadonlySet<string> = new Set(TRANSIENT_CODES);

/** Whether `code` (read back from a thread, a job or a process) is one of Facet's permanent codes. */
export function isPermanentCode(code: unknown): code is PermanentCode {
  return typeof code === "string" && PERMANENT.has(code);
}

/** Whether `code` is one of Facet's transient codes. */
export function isTransientCode(code: unknown): code is TransientCode {
  return typeof code === "string" && TRANSIENT.has(code);
}

/**
 * Why an item ended other than `done`: an error's code (a missing object is `photo_missing`),
 * a transient code with its retries spent, or the ledger's own endings.
 */
export type ItemReason =
  | Exclude<PermanentCode, "object_missing">
  | "photo_missing"
  | `${TransientCode}_exhausted`
  | "worker_crashed"
  | "job_failed"
  | "run_cancelled"
  | "product_gone";
