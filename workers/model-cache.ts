import { loadBundle, type ModelBundle } from "../models/runtime/bundle.js";
import { readBundleSpec, type BundleSpec } from "../models/runtime/bundle-spec.js";
import { createPreprocessor, type Preprocessor, type PreprocessorOptions } from "../models/runtime/preprocessor.js";
import { inProcessEngine, startThreadedEngine, type EngineOptions, type InferenceEngine } from "../models/runtime/inference-engine.js";
import type { SessionSettings } from "../models/runtime/session-settings.js";
import { BundleError } from "../shared/errors/index.js";
import type { Logger } from "../shared/logging/logger.js";
import type { ObjectStore } from "../shared/storage/object-store.js";
import { discardLocalBundle, fetchBundle, resolveVersion } from "../shared/model-store/model-store.js";
import { compareVersions, LATEST } from "../shared/model-store/model-version.js";

export interface ModelCacheOptions {
  /** The model store (`MODEL_STORE`). The cache reads from it; its owner closes it. */
  source: ObjectStore;
  /** Local folder holding downloaded bundles, one sub-folder per version; kept across restarts. */
  cacheDir: string;
  /** How the ONNX sessions run (provider, threads). */
  settings: SessionSettings;
  /**
   * Bundles kept loaded at once. Default 2: the version of the run being processed and the
   * one a second run (a shadow run, a rollout) uses, without reloading between their jobs.
   * Each loaded bundle holds its graphs' memory (the demo: tens of MB; real models: GBs).
   * Bundles in use are never closed, so the count can exceed this while they are held.
   */
  maxLoaded?: number;
  /**
   * How long `latest` stays resolved to the same version, ms. Default 60 000: listing the
   * store on every job would cost an S3 list per batch; a newly published version is
   * picked up within a minute. Runs should pin a concrete version anyway.
   */
  latestTtlMs?: number;
  /**
   * Inference threads per loaded version (INFERENCE_THREADS), each with its own sessions, so
   * that model calls never block the event loop. 0 runs inference on the calling thread
   * (the CLI's `describe`, tests). With threads, the main thread opens no session: it reads
   * the bundle's spec (manifest, file hashes, tokenizer), all that preprocessing needs, and the
   * threads check and warm up the graphs; a second copy of them here would cost start-up time
   * and memory for nothing.
   */
  inferenceThreads?: number;
  /** Batch size and cache use of the engines. */
  engine?: EngineOptions;
  /** How each lease's `preprocessor` treats photos (MAX_INPUT_PIXELS). */
  preprocess?: PreprocessorOptions;
  logger?: Logger;
  /** Called once per completed load (for the load-time metric). */
  onLoad?: (load: ModelLoad) => void;
}

export const DEFAULT_MAX_LOADED = 2;
export const DEFAULT_LATEST_TTL_MS = 60_000;

/** How one version came to be loaded. */
export interface ModelLoad {
  version: string;
  /** Getting the bundle folder ready: download and hash check, or finding the local copy. ms. */
  fetchMs: number;
  /** Reading and validating the bundle, then opening, checking and warming up its sessions (here, or in each inference thread), ms. */
  loadMs: number;
  /** False when the local copy from an earlier fetch was used. */
  downloaded: boolean;
}

export interface LoadedModel extends ModelLoad {
  /** Leases held now. */
  inUse: number;
  /** Threads of its inference engine (1 when it infers on the calling thread). */
  inferenceThreads: number;
}

/** A loaded bundle held for use; it is not closed until `release()` (call it exactly once; more calls do nothing). */
export interface ModelLease {
  /** The concrete version (what `latest` resolved to). */
  readonly version: string;
  /** The bundle's checked manifest and tokenizer (`readBundleSpec`: no sessions, whichever thread holds them). */
  readonly spec: BundleSpec;
  /** Prepares photos for `engine`, from the manifest (one per loaded version). */
  readonly preprocessor: Preprocessor;
  /**
   * The bundle with its sessions open, when inference runs on this thread (`inferenceThreads`
   * 0); undefined with inference threads, which hold the only sessions: run the model through
   * `engine`.
   */
  readonly bundle: ModelBundle | undefined;
  /** Runs batches through this version (threads or in process; see `inferenceThreads`). */
  readonly engine: InferenceEngine;
  release(): void;
}

/**
 * The bundles one worker process has loaded, by version. Loads are shared (concurrent
 * requests for one version wait on one load), failures are not kept (the next request
 * tries again), and beyond `maxLoaded` the least recently used bundle that no lease holds
 * is closed.
 */
export interface ModelCache {
  /** Load (or find loaded) `version` (`latest` or a concrete one) and hold it until the lease is released. */
  acquire(version: string): Promise<ModelLease>;
  /** `acquire`, run `fn` with the lease, release whatever `fn` does. */
  use<T>(version: string, fn: (lease: ModelLease) => Promise<T>): Promise<T>;
  /** The versions loaded now, with how long each took to load. */
  loaded(): LoadedModel[];
  /**
   * Close every bundle, held or not: call it after the worker has drained. Waits for loads
   * in progress; `acquire` fails afterwards.
   */
  close(): Promise<void>;
}

/** What a loaded version holds (a lease shows all but `load`). */
interface Loaded {
  spec: BundleSpec;
  preprocessor: Preprocessor;
  bundle: ModelBundle | undefined;
  engine: InferenceEngine;
  load: ModelLoad;
}

interface Entry {
  version: string;
  loading: Promise<Loaded>;
  loaded: Loaded | undefined;
  refs: number;
  /** Tick of the last acquire or release: the least recent idle entry is closed first. */
  lastUsed: number;
}

export function createModelCache(options: ModelCacheOptions): ModelCache {
  const { source, cacheDir, settings, logger, onLoad } = options;
  const maxLoaded = options.maxLoaded ?? DEFAULT_MAX_LOADED;
  const latestTtlMs = options.latestTtlMs ?? DEFAULT_LATEST_TTL_MS;
  if (!Number.isInteger(maxLoaded) || maxLoaded < 1) throw new RangeError(`maxLoaded must be a positive integer, got ${maxLoaded}`);
  if (!(latestTtlMs >= 0)) throw new RangeError(`latestTtlMs must be >= 0, got ${latestTtlMs}`);

  const entries = new Map<string, Entry>();
  const closing = new Set<Promise<void>>();
  let latest: { version: Promise<string>; at: number } | undefined;
  let tick = 0;
  let closed = false;

  function resolve(requested: string): Promise<string> {
    if (requested !== LATEST) return Promise.resolve(requested);
    if (!latest || performance.now() - latest.at > latestTtlMs) {
      const version = resolveVersion(source, LATEST);
      const current = { version, at: performance.now() };
      latest = current;
      // A failed resolution is not kept: the next request asks the store again.
      version.catch(() => {
        if (latest === current) latest = undefined;
      });
    }
    return latest.version;
  }

  const threads = options.inferenceThreads ?? 0;
  if (!Number.isInteger(threads) || threads < 0) throw new RangeError(`inferenceThreads must be an integer >= 0, got ${threads}`);

  /**
   * The bundle in `dir` and the engine that runs it. With threads, only the spec is read here
   * and each thread opens, checks and warms up its own sessions (a defect they find comes back
   * as a BundleError too); without, the whole bundle loads here.
   */
  async function open(dir: string): Promise<{ spec: BundleSpec; bundle: ModelBundle | undefined; engine: InferenceEngine }> {
    if (threads > 0) {
      const spec = await readBundleSpec(dir);
      // The files were hashed just now: the threads open and check the graphs without hashing them again.
      return { spec, bundle: undefined, engine: await startThreadedEngine(dir, settings, threads, options.engine, { hashes: false }) };
    }
    const bundle = await loadBundle(dir, settings);
    try {
      const spec: BundleSpec = { dir, manifest: bundle.manifest, tokenizer: bundle.tokenizer };
      return { spec, bundle, engine: inProcessEngine(bundle, options.engine) };
    } catch (error) {
      await bundle.close();
      throw error;
    }
  }

  async function fetchAndLoad(version: string): Promise<Loaded> {
    const started = performance.now();
    let local = await fetchBundle(source, version, cacheDir);
    let fetchMs = performance.now() - started;
    let opened: Awaited<ReturnType<typeof open>>;
    try {
      opened = await open(local.dir);
    } catch (error) {
      // A copy we did not just download and check may have been damaged on disk since
      // (or written before a power cut): fetch it once more before giving up.
      if (!(error instanceof BundleError) || local.downloaded) throw error;
      logger?.warn({ modelVersion: version, err: error.message }, "local copy of the model is invalid; downloading it again");
      const again = performance.now();
      await discardLocalBundle(cacheDir, version);
      local = await fetchBundle(source, version, cacheDir);
      fetchMs += performance.now() - again;
      opened = await open(local.dir);
    }
    const { manifest } = opened.spec;
    if (manifest.version !== version) {
      logger?.warn({ modelVersion: version, manifestVersion: manifest.version }, "model store folder and manifest disagree on the version");
    }
    return {
      ...opened,
      preprocessor: createPreprocessor(manifest, options.preprocess),
      load: { version, fetchMs, loadMs: performance.now() - started - fetchMs, downloaded: local.downloaded },
    };
  }

  function startLoad(version: string): Entry {
    const entry: Entry = {
      version,
      loading: fetchAndLoad(version).then((loaded) => {
        const { load } = loaded;
        entry.loaded = loaded;
        logger?.info({ modelVersion: version, fetchMs: load.fetchMs, loadMs: load.loadMs, downloaded: load.downloaded }, "model loaded");
        onLoad?.(load);
        return loaded;
      }),
      loaded: undefined,
      refs: 0,
      lastUsed: ++tick,
    };
    entry.loading.then(
      () => evict(),
      () => {
        if (entries.get(version) === entry) entries.delete(version);
      },
    );
    return entry;
  }

  /** Close least recently used idle bundles while more than maxLoaded are loaded. */
  function evict(): void {
    if (closed) return;
    const loaded = [...entries.values()].filter((e) => e.loaded !== undefined);
    const excess = loaded.length - maxLoaded;
    if (excess <= 0) return;
    const idle = loaded.filter((e) => e.refs === 0).sort((a, b) => a.lastUsed - b.lastUsed);
    for (const entry of idle.slice(0, excess)) {
      entries.delete(entry.version);
      logger?.info({ modelVersion: entry.version }, "model unloaded (least recently used)");
      closeBundle(entry);
    }
  }

  function closeBundle(entry: Entry): void {
    if (!entry.loaded) return;
    const { bundle, engine } = entry.loaded;
    const done = Promise.all([engine.close(), bundle?.close()])
      .then(() => undefined)
      .catch((error: unknown) => logger?.warn({ modelVersion: entry.version, err: String(error) }, "closing a model bundle failed"))
      .finally(() => closing.delete(done));
    closing.add(done);
  }

  async function acquire(requested: string): Promise<ModelLease> {
    if (closed) throw new Error("model cache is closed");
    const version = await resolve(requested);
    if (closed) throw new Error("model cache is closed");
    let entry = entries.get(version);
    if (!entry) {
      entry = startLoad(version);
      entries.set(version, entry);
    }
    // Counted before the load finishes, so an eviction running meanwhile never picks it.
    entry.refs++;
    let loaded: Loaded;
    try {
      loaded = await entry.loading;
      if (closed) throw new Error("model cache is closed");
    } catch (error) {
      entry.refs--;
      throw error;
    }
    entry.lastUsed = ++tick;
    const held = entry;
    let released = false;
    const { spec, preprocessor, bundle, engine } = loaded;
    return {
      version,
      spec,
      preprocessor,
      bundle,
      engine,
      release() {
        if (released) return;
        released = true;
        held.refs--;
        held.lastUsed = ++tick;
        evict();
      },
    };
  }

  return {
    acquire,
    async use(version, fn) {
      const lease = await acquire(version);
      try {
        return await fn(lease);
      } finally {
        lease.release();
      }
    },
    loaded() {
      return [...entries.values()]
        .flatMap((e) => (e.loaded ? [{ ...e.loaded.load, inUse: e.refs, inferenceThreads: e.loaded.engine.parallelism }] : []))
        .sort((a, b) => compareVersions(a.version, b.version));
    },
    async close() {
      closed = true;
      const all = [...entries.values()];
      entries.clear();
      await Promise.allSettled(all.map((e) => e.loading));
      for (const entry of all) closeBundle(entry);
      await Promise.all([...closing]);
    },
  };
}
