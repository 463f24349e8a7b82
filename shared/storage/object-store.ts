import { PermanentError } from "../errors/index.js";
import { FolderStore } from "./folder-store.js";
import { S3Store } from "./s3-store.js";
import { createS3Client, type S3Settings } from "./store-location.js";

export type { S3Settings };

/**
 * Objects by key (photos, model bundle files): an S3 prefix or a local folder, chosen by URL.
 * Errors carry their retry meaning: a missing object is permanent (`object_missing`);
 * timeouts, 5xx, throttling and resets are transient.
 */
export interface ObjectStore {
  /** Where this store reads from, without a trailing slash, for logs and messages (`${url}/${key}` names an object). */
  readonly url: string;
  /** One whole object (a photo, a manifest). */
  get(key: string, options?: ReadOptions): Promise<Uint8Array>;
  /**
   * The immediate children of folder `prefix` (`""` for the store's root, otherwise a
   * relative path ending in `/`): sub-folder names and file names, unsorted. A folder that
   * does not exist lists as empty, as on S3.
   */
  list(prefix: string, options?: ReadOptions): Promise<FolderListing>;
  /**
   * One object as chunks, so a large one (a model graph) is hashed and written without being
   * held in memory. Opening fails like `get` (missing → permanent); an error while reading is
   * thrown from the iteration, classified the same way.
   */
  stream(key: string, options?: ReadOptions): Promise<AsyncIterable<Uint8Array>>;
  /** Release the store's connections (S3); the composition root that opened it calls it last. */
  close(): void;
}

/**
 * A store that can also be written: only tools that fill a store (the demo seeder, `facet
 * model publish`) open one; the pipeline reads photos and bundles through `ObjectStore`.
 */
export interface WritableObjectStore extends ObjectStore {
  /**
   * Write `bytes` under `key`, replacing any object there. Readers never see a partial
   * object: the folder store renames a complete temp file into place, S3 PUT is atomic.
   * `contentType` is stored as S3's Content-Type; a folder has nowhere to keep it.
   */
  put(key: string, bytes: Uint8Array, contentType?: string): Promise<void>;
}

export interface ReadOptions {
  /** Aborts the request (shutdown, a fetch timeout); the promise or iteration rejects with a TransientError. */
  signal?: AbortSignal;
}

export interface FolderListing {
  folders: string[];
  files: string[];
}

/** Where S3 is, and how the store is read: the access pattern decides how its S3 requests are made (a folder ignores both). */
export type ObjectStoreSettings = S3Settings & (PhotoAccess | BundleAccess);

/**
 * Photos (`IMAGE_STORE`): many small GETs, each for a job that has its own backoff (with
 * jitter, and counted in metrics), so a request is made once and a failure goes back to the
 * job. GETs are signed and sent without the S3 client's middleware stack (s3-get.ts).
 */
export interface PhotoAccess {
  access: "photos";
}

/**
 * Model bundles (`MODEL_STORE`): a few large requests made rarely, so the SDK's retries with
 * jitter (3 attempts) are cheaper than failing the job and downloading the whole bundle again.
 * A connection must open within 5 s.
 */
export interface BundleAccess {
  access: "bundles";
  /**
   * A request fails (transiently) when its socket stays silent this long, ms. Default 30 000
   * (`DEFAULT_IDLE_TIMEOUT_MS`). An idle timeout rather than a total one: a large graph may
   * take minutes to download but never stalls that long on a healthy connection.
   */
  idleTimeoutMs?: number;
}

export const DEFAULT_IDLE_TIMEOUT_MS = 30_000;

/** Open `url` (`s3://bucket/prefix` or `file:///path`). Called by a process's composition root, which closes it. */
export function openObjectStore(url: string, settings: ObjectStoreSettings): ObjectStore {
  return openWritableObjectStore(url, settings);
}

/** Open `url` for reading and writing; same URLs and settings as `openObjectStore`. */
export function openWritableObjectStore(url: string, settings: ObjectStoreSettings): WritableObjectStore {
  if (url.startsWith("file://")) return new FolderStore(url);
  if (url.startsWith("s3://")) {
    const client = createS3Client(settings, s3ClientOptions(settings));
    return new S3Store(url, client, { ownsClient: true, leanGet: settings.access === "photos" });
  }
  throw new PermanentError("config_invalid", `unsupported store URL ${url} (expected s3:// or file://)`);
}

/** The S3 client's attempts and timeouts for an access pattern (see PhotoAccess, BundleAccess). */
function s3ClientOptions(settings: PhotoAccess | BundleAccess): Parameters<typeof createS3Client>[1] {
  if (settings.access === "photos") return { maxAttempts: 1 };
  return {
    maxAttempts: 3,
    // The handler's socketTimeout is the idle one; its requestTimeout bounds the whole request
    // (and by default only logs a warning when passed).
    requestHandler: { connectionTimeout: 5_000, socketTimeout: settings.idleTimeoutMs ?? DEFAULT_IDLE_TIMEOUT_MS },
  };
}
