import { NoSuchKey, S3ServiceException } from "@aws-sdk/client-s3";
import { PermanentError, TransientError } from "../errors/index.js";
import { S3GetError } from "./s3-get.js";

/**
 * Map an S3 error (the SDK's, or a photo GET's S3GetError) or a network error to permanent
 * (missing, forbidden) or transient (everything retryable).
 */
export function classifyS3Error(cause: unknown, where: string): PermanentError | TransientError {
  if (cause instanceof PermanentError || cause instanceof TransientError) return cause;
  const answer =
    cause instanceof S3GetError
      ? { code: cause.code, status: cause.status }
      : cause instanceof S3ServiceException
        ? { code: cause instanceof NoSuchKey ? "NoSuchKey" : cause.name, status: cause.$metadata.httpStatusCode ?? 0 }
        : undefined;
  if (answer) {
    const { code, status } = answer;
    if (code === "NoSuchKey" || code === "NotFound") return new PermanentError("object_missing", `${where} does not exist`, { cause });
    // Said apart from a missing key because on a write "does not exist" would read as nonsense.
    if (code === "NoSuchBucket") return new PermanentError("object_missing", `${where}: no such bucket`, { cause });
    const throttled = status === 429 || status === 503 || /Throttl|SlowDown|RequestLimitExceeded/.test(code);
    if (throttled) return new TransientError("object_throttled", `${where}: ${code} (${status})`, { cause });
    if (status >= 500) return new TransientError("object_server_error", `${where}: ${code} (${status})`, { cause });
    if (status === 403 || status === 401) return new PermanentError("object_forbidden", `${where}: access denied (${status})`, { cause });
    if (status === 404) return new PermanentError("object_missing", `${where} does not exist`, { cause });
    return new PermanentError("object_rejected", `${where}: ${code} (${status})`, { cause });
  }
  const name = (cause as Error)?.name ?? "";
  const code = (cause as NodeJS.ErrnoException)?.code ?? "";
  // The SDK's HTTP handler renames a reset (ECONNRESET, EPIPE) "TimeoutError": its errno says what it was.
  const dropped = code === "ECONNRESET" || code === "EPIPE";
  if (!dropped && (name === "AbortError" || name === "TimeoutError")) return new TransientError("object_timeout", `${where}: timed out`, { cause });
  return new TransientError("object_unreachable", `${where}: ${code || name || String(cause)}`, { cause });
}
