import { createHash } from "node:crypto";
import { mkdir, mkdtemp, open, readdir, rename, rm, stat, writeFile } from "node:fs/promises";
import path from "node:path";
import { z } from "zod";
import { BundleError, ConfigError, FacetError, PermanentError, TransientError } from "../errors/index.js";
import { manifestSchema } from "../../models/runtime/manifest.js";
import type { ObjectStore, ReadOptions } from "../storage/object-store.js";
import { checkVersionName, compareVersions, isPreRelease, isVersionName, LATEST } from "./model-version.js";

/**
 * A model store holds one bundle folder per version: `<store>/<version>/manifest.json`
 * plus the files the manifest lists (models/FORMAT.md). Versions are immutable once
 * published, which is what lets a worker keep a local copy and reuse it without asking.
 */
export const MANIFEST_FILE = "manifest.json";

/**
 * The versions in `source`, lowest first (`compareVersions`): its top-level folders whose
 * name is a valid version and which hold a manifest. Anything else (a half-uploaded
 * folder, `notes/`) is not a version.
 */
export async function listModelVersions(source: ObjectStore, options: ReadOptions = {}): Promise<string[]> {
  const { folders } = await source.list("", options);
  const candidates = folders.filter(isVersionName);
  const complete = await Promise.all(candidates.map(async (v) => (await source.list(`${v}/`, options)).files.includes(MANIFEST_FILE)));
  return candidates.filter((_, i) => complete[i]).sort(compareVersions);
}

/**
 * The version `requested` names: itself if the store has it, or for `latest` the highest
 * release version (pre-releases such as `2.0.0-rc.1` are only used when named).
 * Otherwise a ConfigError, one line naming the request and listing what exists.
 */
export async function resolveVersion(source: ObjectStore, requested: string, options: ReadOptions = {}): Promise<string> {
  if (requested !== LATEST) checkVersionName(requested);
  const versions = await listModelVersions(source, options);
  if (requested === LATEST) {
    const latest = versions.filter((v) => !isPreRelease(v)).at(-1);
    if (latest === undefined) throw new ConfigError(`model version "${LATEST}": ${source.url} has no release version ${available(versions)}`);
    return latest;
  }
  if (!versions.includes(requested)) throw unknownVersion(source, requested, versions);
  return requested;
}

function unknownVersion(source: ObjectStore, version: string, versions: readonly string[]): ConfigError {
  return new ConfigError(`model version ${JSON.stringify(version)} is not in ${source.url} ${available(versions)}`);
}

function available(versions: readonly string[]): string {
  return versions.length > 0 ? `(available: ${versions.join(", ")})` : "(it holds no model versions)";
}

/** A complete bundle folder in the local cache. */
export interface LocalBundle {
  version: string;
  /** `cacheDir/<version>`, ready for `loadBundle`. */
  dir: string;
  /** True when this call downloaded it; false when a complete local copy was already there. */
  downloaded: boolean;
  /** Bytes this call downloaded, manifest included (0 when reused). */
  bytes: number;
}

export interface FetchBundleOptions extends ReadOptions {
  /**
   * A `<version>.partial-*` folder none of whose files changed for this long, ms, is the
   * leftover of a crashed download and is removed. Default 1 hour: far longer than any
   * healthy download goes without writing, so a live download of another worker sharing
   * the cache folder is never touched.
   */
  stalePartialMs?: number;
}

export const DEFAULT_STALE_PARTIAL_MS = 60 * 60 * 1000;

/** Leftovers in a cache folder: downloads in progress (or crashed) and copies being discarded. */
const LEFTOVER = /\.(partial|discard)-[A-Za-z0-9]+$/;

const fileListSchema = z.object({ files: manifestSchema.shape.files });

/**
 * Make `cacheDir/<version>` a complete copy of the store's bundle `version`. An existing
 * copy is reused without contacting the store (published versions never change). Else
 * the manifest and every file it lists are downloaded into a fresh
 * `cacheDir/<version>.partial-*` folder, each file's sha256 (and size, when listed)
 * checked as it is written, then the folder is renamed into place in one step: a crash or
 * a failure leaves no half bundle under the version's name, and of two workers fetching
 * at once, one rename wins and the other uses the winner's copy.
 *
 * Throws a ConfigError when the store has no such version (listing the ones it has), a
 * BundleError when a file does not match its manifest entry (a corrupt or tampered
 * store: permanent), and a TransientError when the store cannot be reached.
 */
export async function fetchBundle(source: ObjectStore, version: string, cacheDir: string, options: FetchBundleOptions = {}): Promise<LocalBundle> {
  checkVersionName(version);
  try {
    return await fetchInto(source, version, cacheDir, options);
  } catch (error) {
    throw localError(error, cacheDir);
  }
}

async function fetchInto(source: ObjectStore, version: string, cacheDir: string, options: FetchBundleOptions): Promise<LocalBundle> {
  const dir = path.join(cacheDir, version);
  if (await isFile(path.join(dir, MANIFEST_FILE))) return { version, dir, downloaded: false, bytes: 0 };

  await mkdir(cacheDir, { recursive: true });
  await removeLeftovers(cacheDir, options.stalePartialMs ?? DEFAULT_STALE_PARTIAL_MS);

  const manifestWhere = `${source.url}/${version}/${MANIFEST_FILE}`;
  let manifestBytes: Uint8Array;
  try {
    manifestBytes = await source.get(`${version}/${MANIFEST_FILE}`, options);
  } catch (error) {
    if (error instanceof PermanentError && error.code === "object_missing") {
      throw unknownVersion(source, version, await listModelVersions(source, options));
    }
    throw error;
  }
  const files = parseFileList(manifestBytes, manifestWhere);

  const partial = await mkdtemp(path.join(cacheDir, `${version}.partial-`));
  try {
    await writeFile(path.join(partial, MANIFEST_FILE), manifestBytes);
    const bytes = manifestBytes.byteLength + (await downloadAll(source, version, files, partial, options.signal));
    try {
      await rename(partial, dir);
    } catch (cause) {
      const code = (cause as NodeJS.ErrnoException).code;
      // Another worker's rename won the race: its copy is as good as ours.
      if ((code === "ENOTEMPTY" || code === "EEXIST") && (await isFile(path.join(dir, MANIFEST_FILE)))) {
        await rm(partial, { recursive: true, force: true });
        return { version, dir, downloaded: false, bytes: 0 };
      }
      throw cause;
    }
    return { version, dir, downloaded: true, bytes };
  } catch (error) {
    await rm(partial, { recursive: true, force: true });
    throw error;
  }
}

/**
 * Remove the local copy of `version` (one that failed to load): renamed out of the way in
 * one step, so a concurrent `fetchBundle` either reuses it whole or downloads anew, then deleted.
 */
export async function discardLocalBundle(cacheDir: string, version: string): Promise<void> {
  checkVersionName(version);
  const trash = `${path.join(cacheDir, version)}.discard-${Math.random().toString(36).slice(2, 10)}`;
  try {
    await rename(path.join(cacheDir, version), trash);
    await rm(trash, { recursive: true, force: true });
  } catch (cause) {
    if ((cause as NodeJS.ErrnoException).code === "ENOENT") return;
    throw localError(cause, cacheDir);
  }
}

/** Local file-system errors that retrying cannot fix: permissions, a read-only disk, a file where a folder must be. */
const PERMANENT_LOCAL_CODES = new Set(["EACCES", "EPERM", "EROFS", "ENOTDIR", "EEXIST", "EISDIR", "ENAMETOOLONG"]);

/** A cache-folder error with its retry meaning (a full disk may clear once space is freed); Facet's own errors pass through. */
function localError(cause: unknown, cacheDir: string): unknown {
  if (cause instanceof FacetError) return cause;
  const code = (cause as NodeJS.ErrnoException).code ?? "";
  if (PERMANENT_LOCAL_CODES.has(code)) return new PermanentError("model_cache_unwritable", `model cache ${cacheDir}: ${code}`, { cause });
  return new TransientError("model_cache_failed", `model cache ${cacheDir}: ${code || String(cause)}`, { cause });
}

type FileList = z.infer<typeof fileListSchema>["files"];

function parseFileList(bytes: Uint8Array, where: string): FileList {
  let json: unknown;
  try {
    json = JSON.parse(Buffer.from(bytes).toString("utf8"));
  } catch (cause) {
    throw new BundleError(where, undefined, `not valid JSON (${(cause as Error).message})`, { cause });
  }
  const parsed = fileListSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new BundleError(where, issue?.path.join(".") || undefined, issue?.message ?? "invalid");
  }
  for (const name of Object.keys(parsed.data.files)) {
    // Checked before anything is written: a name like `../x` must never become a path.
    if (name === MANIFEST_FILE || name === "." || name === ".." || /[/\\]/.test(name) || name === "") {
      throw new BundleError(where, `files.${name}`, "must name a plain file of the bundle other than the manifest");
    }
  }
  return parsed.data.files;
}

/** Download every listed file into `dir` at once; the first failure stops the others. Returns the bytes written. */
async function downloadAll(source: ObjectStore, version: string, files: FileList, dir: string, outer: AbortSignal | undefined): Promise<number> {
  const controller = new AbortController();
  const signal = outer ? AbortSignal.any([outer, controller.signal]) : controller.signal;
  let first: { error: unknown } | undefined;
  const sizes = await Promise.all(
    Object.entries(files).map(([name, expected]) =>
      downloadFile(source, `${version}/${name}`, path.join(dir, name), name, expected, signal).catch((error: unknown) => {
        first ??= { error };
        controller.abort();
        return 0;
      }),
    ),
  );
  if (first) throw first.error;
  return sizes.reduce((a, b) => a + b, 0);
}

async function downloadFile(
  source: ObjectStore,
  key: string,
  file: string,
  name: string,
  expected: { sha256: string; bytes?: number | undefined },
  signal: AbortSignal,
): Promise<number> {
  const where = `${source.url}/${key}`;
  const handle = await open(file, "wx");
  try {
    const hash = createHash("sha256");
    let bytes = 0;
    for await (const chunk of await source.stream(key, { signal })) {
      bytes += chunk.byteLength;
      if (expected.bytes !== undefined && bytes > expected.bytes) {
        throw new BundleError(where, "bytes", `is longer than manifest files.${name}.bytes (${expected.bytes})`);
      }
      hash.update(chunk);
      for (let offset = 0; offset < chunk.byteLength; ) offset += (await handle.write(chunk, offset)).bytesWritten;
    }
    if (expected.bytes !== undefined && bytes !== expected.bytes) {
      throw new BundleError(where, "bytes", `has ${bytes} bytes, manifest files.${name}.bytes says ${expected.bytes}`);
    }
    const actual = hash.digest("hex");
    if (actual !== expected.sha256) {
      throw new BundleError(where, "sha256", `downloaded file hashes to ${actual}, manifest files.${name}.sha256 says ${expected.sha256}`);
    }
    // On disk before the rename publishes the folder: a power cut must not leave a published bundle of empty files.
    await handle.sync();
    return bytes;
  } finally {
    await handle.close();
  }
}

/** Remove copies being discarded, and partial downloads whose files have not changed for `staleMs`. */
async function removeLeftovers(cacheDir: string, staleMs: number): Promise<void> {
  const names = (await readdir(cacheDir)).filter((n) => LEFTOVER.test(n));
  await Promise.all(
    names.map(async (name) => {
      const dir = path.join(cacheDir, name);
      if (name.includes(".partial-") && Date.now() - (await newestChange(dir)) < staleMs) return;
      await rm(dir, { recursive: true, force: true });
    }),
  );
}

/** The latest modification time of folder `dir` or a file in it, ms since the epoch (now when it vanished meanwhile). */
async function newestChange(dir: string): Promise<number> {
  try {
    const names = await readdir(dir);
    const times = await Promise.all([dir, ...names.map((n) => path.join(dir, n))].map(async (p) => (await stat(p)).mtimeMs));
    return Math.max(...times);
  } catch {
    return Date.now();
  }
}

async function isFile(file: string): Promise<boolean> {
  try {
    return (await stat(file)).isFile();
  } catch {
    return false;
  }
}
