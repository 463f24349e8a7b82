import { randomBytes } from "node:crypto";
import { mkdir, readFile, rename, rm, writeFile } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { NoSuchKey, PutObjectCommand, S3ServiceException, type S3Client } from "@aws-sdk/client-s3";
import { PermanentError, TransientError } from "../errors/index.js";
import { createS3Getter, S3GetError } from "./s3-get.js";
import { checkKey, createS3Client, parseS3Url, type S3Settings } from "./store-location.js";

export type { S3Settings };

/**
 * Read-only access to objects by key (photos, model bundle files): an S3 prefix or a
 * local folder, chosen by URL. Errors carry their retry meaning: a missing object is
 * permanent (`object_missing`); timeouts, 5xx, throttling and resets are transient.
 */
export interface ObjectStore {
  /** Where this store reads from, for logs and messages. */
  readonly url: string;
  get(key: string, options?: { signal?: AbortSignal }): Promise<Uint8Array>;
}

/**
 * A store that can also be written: only tools that fill a store (the demo seeder) open
 * one; the pipeline reads photos and bundles through the read-only `ObjectStore`.
 */
export interface WritableObjectStore extends ObjectStore {
  /**
   * Write `bytes` under `key`, replacing any object there. Readers never see a partial
   * object: the folder store renames a complete temp file into place, S3 PUT is atomic.
   * `contentType` is stored as S3's Content-Type; a folder has nowhere to keep it.
   */
  put(key: string, bytes: Uint8Array, contentType?: string): Promise<void>;
}

/** Open `url` (`s3://bucket/prefix` or `file:///path`). S3 clients are created here, by the caller's composition root. */
export function openObjectStore(url: string, s3: S3Settings): ObjectStore {
  return openWritableObjectStore(url, s3);
}

/** Open `url` for reading and writing; same URLs and settings as `openObjectStore`. */
export function openWritableObjectStore(url: string, s3: S3Settings): WritableObjectStore {
  if (url.startsWith("file://")) return new FolderStore(url);
  if (url.startsWith("s3://")) {
    // Our own backoff (with jitter, and counted in metrics) handles retries.
    return new S3Store(url, createS3Client(s3, { maxAttempts: 1 }));
  }
  throw new PermanentError("config_invalid", `unsupported store URL ${url} (expected s3:// or file://)`);
}

/** File-system errors that retrying cannot fix: permissions, a read-only disk, a file where a folder must be. */
const PERMANENT_WRITE_CODES = new Set(["EACCES", "EPERM", "EROFS", "ENOTDIR", "EISDIR", "EEXIST", "ENAMETOOLONG"]);

export class FolderStore implements WritableObjectStore {
  readonly url: string;
  private readonly root: string;

  constructor(url: string) {
    this.url = url;
    this.root = fileURLToPath(url);
  }

  async get(key: string): Promise<Uint8Array> {
    const file = path.join(this.root, checkKey(key));
    try {
      return await readFile(file);
    } catch (cause) {
      const code = (cause as NodeJS.ErrnoException).code;
      if (code === "ENOENT" || code === "EISDIR") throw new PermanentError("object_missing", `${file} does not exist`, { cause });
      throw new TransientError("object_read_failed", `${file}: ${code ?? String(cause)}`, { cause });
    }
  }

  async put(key: string, bytes: Uint8Array): Promise<void> {
    const file = path.join(this.root, checkKey(key));
    // Same folder as the target, so the rename stays on one file system and is atomic.
    const temp = `${file}.${randomBytes(6).toString("hex")}.tmp`;
    try {
      await mkdir(path.dirname(file), { recursive: true });
      await writeFile(temp, bytes);
      await rename(temp, file);
    } catch (cause) {
      await rm(temp, { force: true }).catch(() => undefined);
      const code = (cause as NodeJS.ErrnoException).code ?? "";
      if (PERMANENT_WRITE_CODES.has(code)) throw new PermanentError("object_write_refused", `${file}: ${code}`, { cause });
      throw new TransientError("object_write_failed", `${file}: ${code || String(cause)}`, { cause });
    }
  }
}

export class S3Store implements WritableObjectStore {
  readonly url: string;
  readonly client: S3Client;
  private readonly bucket: string;
  private readonly prefix: string;
  private readonly getObject: (key: string, signal?: AbortSignal) => Promise<Uint8Array>;

  constructor(url: string, client: S3Client) {
    const where = parseS3Url(url);
    this.url = url;
    this.client = client;
    this.bucket = where.bucket;
    this.prefix = where.prefix;
    this.getObject = createS3Getter(client, this.bucket);
  }

  async get(key: string, options: { signal?: AbortSignal } = {}): Promise<Uint8Array> {
    const objectKey = `${this.prefix}${checkKey(key)}`;
    const where = `s3://${this.bucket}/${objectKey}`;
    try {
      return await this.getObject(objectKey, options.signal);
    } catch (cause) {
      throw classifyS3Error(cause, where);
    }
  }

  async put(key: string, bytes: Uint8Array, contentType?: string): Promise<void> {
    const objectKey = `${this.prefix}${checkKey(key)}`;
    try {
      await this.client.send(
        new PutObjectCommand({ Bucket: this.bucket, Key: objectKey, Body: bytes, ...(contentType ? { ContentType: contentType } : {}) }),
      );
    } catch (cause) {
      throw classifyS3Error(cause, `s3://${this.bucket}/${objectKey}`);
    }
  }
}

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
