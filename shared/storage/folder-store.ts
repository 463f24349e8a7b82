import { randomBytes } from "node:crypto";
import { mkdir, open, readdir, readFile, rename, rm, writeFile, type FileHandle } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { PermanentError, TransientError } from "../errors/index.js";
import { classified } from "./classified-stream.js";
import type { FolderListing, ReadOptions, WritableObjectStore } from "./object-store.js";
import { checkKey } from "./store-location.js";

/** File-system errors that retrying cannot fix: permissions, a read-only disk, a file where a folder must be. */
const PERMANENT_WRITE_CODES = new Set(["EACCES", "EPERM", "EROFS", "ENOTDIR", "EISDIR", "EEXIST", "ENAMETOOLONG"]);

/** A local folder (`file:///path`) as an object store: a key is a relative path under it. */
export class FolderStore implements WritableObjectStore {
  readonly url: string;
  private readonly root: string;

  constructor(url: string) {
    this.url = url.replace(/\/+$/, "");
    this.root = fileURLToPath(url);
  }

  async get(key: string, options: ReadOptions = {}): Promise<Uint8Array> {
    const file = path.join(this.root, checkKey(key));
    try {
      return await readFile(file, options.signal ? { signal: options.signal } : {});
    } catch (cause) {
      throw readError(cause, file);
    }
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

  async stream(key: string, options: ReadOptions = {}): Promise<AsyncIterable<Uint8Array>> {
    const file = path.join(this.root, checkKey(key));
    let handle: FileHandle | undefined;
    try {
      handle = await open(file, "r");
      // open() succeeds on a directory; reading it fails with EISDIR, which is "missing" too.
      if ((await handle.stat()).isDirectory()) throw Object.assign(new Error("is a directory"), { code: "EISDIR" });
    } catch (cause) {
      await handle?.close();
      throw readError(cause, file);
    }
    const stream = handle.createReadStream({ highWaterMark: 1 << 20, ...(options.signal ? { signal: options.signal } : {}) });
    return classified(stream, (cause) => readError(cause, file));
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

  /** Nothing to release: every read opens and closes its own file. */
  close(): void {}
}

/** A read's error by its retry meaning: no such file (or a folder where a file must be) is a missing object, an abort a timeout. */
function readError(cause: unknown, file: string): PermanentError | TransientError {
  const code = (cause as NodeJS.ErrnoException).code;
  if (code === "ENOENT" || code === "EISDIR") return new PermanentError("object_missing", `${file} does not exist`, { cause });
  if ((cause as Error).name === "AbortError") return new TransientError("object_timeout", `${file}: aborted`, { cause });
  return new TransientError("object_read_failed", `${file}: ${code ?? String(cause)}`, { cause });
}
