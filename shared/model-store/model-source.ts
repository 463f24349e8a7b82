import { open, readdir, type FileHandle } from "node:fs/promises";
import path from "node:path";
import { Readable } from "node:stream";
import { fileURLToPath } from "node:url";
import { GetObjectCommand, ListObjectsV2Command, type S3Client } from "@aws-sdk/client-s3";
import { PermanentError, TransientError } from "../errors/index.js";
import { classifyS3Error } from "../storage/object-store.js";
import { checkKey, createS3Client, parseS3Url, type S3Settings } from "../storage/store-location.js";

/**
 * Where model bundles are read from (`MODEL_STORE`): an S3 prefix or a local folder.
 * Besides reading objects (as the photo store does) it lists folders, to find versions,
 * and streams objects, so a large graph is hashed and written without being held in
 * memory. Errors carry their retry meaning like `shared/storage`: a missing object is a
 * PermanentError (`object_missing`); timeouts, 5xx, throttling and resets are transient.
 */
export interface ModelSource {
  /** Where this source reads from, for logs and messages. */
  readonly url: string;
  /**
   * The immediate children of folder `prefix` (`""` for the store's root, otherwise a
   * relative path ending in `/`): sub-folder names and file names, unsorted. A folder that
   * does not exist lists as empty, as on S3.
   */
  list(prefix: string, options?: ReadOptions): Promise<FolderListing>;
  /** One whole object (small files: the manifest). */
  get(key: string, options?: ReadOptions): Promise<Uint8Array>;
  /**
   * One object as chunks. Opening fails like `get` (missing → permanent); an error while
   * reading is thrown from the iteration, classified the same way.
   */
  stream(key: string, options?: ReadOptions): Promise<AsyncIterable<Uint8Array>>;
  /** Release the source's connections (S3); the composition root calls it last. */
  close(): void;
}

export interface ReadOptions {
  /** Aborts the request (shutdown); the promise or iteration rejects with a TransientError. */
  signal?: AbortSignal;
}

export interface FolderListing {
  folders: string[];
  files: string[];
}

export interface ModelSourceSettings extends S3Settings {
  /**
   * S3 only: a request fails (transiently) when its socket stays silent this long, ms.
   * Default 30 000. An idle timeout rather than a total one: a large graph may take minutes
   * to download but never stalls that long on a healthy connection.
   */
  idleTimeoutMs?: number;
}

export const DEFAULT_IDLE_TIMEOUT_MS = 30_000;

/** Open `url` (`s3://bucket/prefix` or `file:///path`). Called by a process's composition root, which closes it. */
export function openModelSource(url: string, settings: ModelSourceSettings): ModelSource {
  if (url.startsWith("file://")) return new FolderModelSource(url);
  if (url.startsWith("s3://")) {
    // Unlike photo reads (one attempt, the job's own backoff), a bundle is a few large
    // requests made rarely: the SDK's retries with jitter are cheaper than failing the
    // job and downloading the whole bundle again.
    const client = createS3Client(settings, {
      maxAttempts: 3,
      requestHandler: { connectionTimeout: 5_000, requestTimeout: settings.idleTimeoutMs ?? DEFAULT_IDLE_TIMEOUT_MS },
    });
    return new S3ModelSource(url, client, { ownsClient: true });
  }
  throw new PermanentError("config_invalid", `unsupported model store URL ${url} (expected s3:// or file://)`);
}

export class FolderModelSource implements ModelSource {
  readonly url: string;
  private readonly root: string;

  constructor(url: string) {
    this.url = url.replace(/\/+$/, "");
    this.root = fileURLToPath(url);
  }

  async list(prefix: string): Promise<FolderListing> {
    const dir = path.join(this.root, checkKey(prefix, { folder: true }));
    try {
      const entries = await readdir(dir, { withFileTypes: true });
      return {
        folders: entries.filter((e) => e.isDirectory()).map((e) => e.name),
        files: entries.filter((e) => e.isFile()).map((e) => e.name),
      };
    } catch (cause) {
      const code = (cause as NodeJS.ErrnoException).code;
      if (code === "ENOENT" || code === "ENOTDIR") return { folders: [], files: [] };
      throw new TransientError("object_read_failed", `${dir}: ${code ?? String(cause)}`, { cause });
    }
  }

  async get(key: string, options: ReadOptions = {}): Promise<Uint8Array> {
    const chunks: Uint8Array[] = [];
    for await (const chunk of await this.stream(key, options)) chunks.push(chunk);
    return Buffer.concat(chunks);
  }

  async stream(key: string, options: ReadOptions = {}): Promise<AsyncIterable<Uint8Array>> {
    const file = path.join(this.root, checkKey(key));
    const classify = (cause: unknown) => {
      const code = (cause as NodeJS.ErrnoException).code;
      if (code === "ENOENT" || code === "EISDIR") return new PermanentError("object_missing", `${file} does not exist`, { cause });
      if ((cause as Error).name === "AbortError") return new TransientError("object_timeout", `${file}: aborted`, { cause });
      return new TransientError("object_read_failed", `${file}: ${code ?? String(cause)}`, { cause });
    };
    let handle: FileHandle | undefined;
    try {
      handle = await open(file, "r");
      // open() succeeds on a directory; reading it fails with EISDIR, which is "missing" too.
      if ((await handle.stat()).isDirectory()) throw Object.assign(new Error("is a directory"), { code: "EISDIR" });
    } catch (cause) {
      await handle?.close();
      throw classify(cause);
    }
    const stream = handle.createReadStream({ highWaterMark: 1 << 20, ...(options.signal ? { signal: options.signal } : {}) });
    return classified(stream, classify);
  }

  close(): void {}
}

export class S3ModelSource implements ModelSource {
  readonly url: string;
  readonly client: S3Client;
  private readonly bucket: string;
  private readonly prefix: string;
  private readonly ownsClient: boolean;

  /** `client` is closed by `close()` only when `ownsClient` (openModelSource made it). */
  constructor(url: string, client: S3Client, options: { ownsClient?: boolean } = {}) {
    const where = parseS3Url(url);
    this.client = client;
    this.bucket = where.bucket;
    this.prefix = where.prefix;
    this.url = where.url;
    this.ownsClient = options.ownsClient ?? false;
  }

  async list(prefix: string, options: ReadOptions = {}): Promise<FolderListing> {
    const full = `${this.prefix}${checkKey(prefix, { folder: true })}`;
    const where = `s3://${this.bucket}/${full}`;
    const listing: FolderListing = { folders: [], files: [] };
    let token: string | undefined;
    try {
      do {
        const out = await this.client.send(
          new ListObjectsV2Command({ Bucket: this.bucket, Prefix: full, Delimiter: "/", ...(token ? { ContinuationToken: token } : {}) }),
          options.signal ? { abortSignal: options.signal } : {},
        );
        for (const p of out.CommonPrefixes ?? []) if (p.Prefix) listing.folders.push(p.Prefix.slice(full.length).replace(/\/$/, ""));
        for (const o of out.Contents ?? []) if (o.Key && o.Key.length > full.length) listing.files.push(o.Key.slice(full.length));
        token = out.IsTruncated ? out.NextContinuationToken : undefined;
      } while (token);
    } catch (cause) {
      throw classifyS3Error(cause, where);
    }
    return listing;
  }

  async get(key: string, options: ReadOptions = {}): Promise<Uint8Array> {
    const chunks: Uint8Array[] = [];
    for await (const chunk of await this.stream(key, options)) chunks.push(chunk);
    return Buffer.concat(chunks);
  }

  async stream(key: string, options: ReadOptions = {}): Promise<AsyncIterable<Uint8Array>> {
    const objectKey = `${this.prefix}${checkKey(key)}`;
    const where = `s3://${this.bucket}/${objectKey}`;
    let body: unknown;
    try {
      const out = await this.client.send(
        new GetObjectCommand({ Bucket: this.bucket, Key: objectKey }),
        options.signal ? { abortSignal: options.signal } : {},
      );
      body = out.Body;
    } catch (cause) {
      throw classifyS3Error(cause, where);
    }
    // In Node the SDK's body is an http.IncomingMessage; anything else means a misconfigured client.
    if (!(body instanceof Readable)) throw new TransientError("object_read_failed", `${where}: response body is not a Node stream`);
    return classified(body, (cause) => classifyS3Error(cause, where));
  }

  close(): void {
    if (this.ownsClient) this.client.destroy();
  }
}

/** The chunks of `stream`, with any error thrown while reading mapped by `classify`. */
async function* classified(stream: Readable, classify: (cause: unknown) => Error): AsyncGenerator<Uint8Array> {
  try {
    for await (const chunk of stream) yield chunk as Uint8Array;
  } catch (cause) {
    throw classify(cause);
  } finally {
    // Stopping early (a size or hash mismatch) must not leave the socket or file open.
    stream.destroy();
  }
}
