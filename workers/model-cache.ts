import { loadBundle, type ModelBundle } from "../models/runtime/bundle.js";
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
   * (the CLI's `describe`, tests). With threads, the main thread's copy of the bundle, used
   * to validate it and for preprocessing settings, is opened on the CPU provider.
   */
  inferenceThreads?: number;
  /** Batch size and cache use of the engines. */
  engine?: EngineOptions;
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
  /** `loadBundle` (reading, validating, opening the sessions, warming up) and starting the inference threads, ms. */
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
  readonly bundle: ModelBundle;
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
  /** `acquire`, run `fn` with the bundle, release whatever `fn` does. */
  use<T>(version: string, fn: (bundle: ModelBundle, version: string) => Promise<T>): Promise<T>;
  /** The versions loaded now, with how long each took to load. */
  loaded(): LoadedModel[];
  /**
   * Close every bundle, held or not: call it after the worker has drained. Waits for loads
   * in progress; `acquire` fails afterwards.
   */
  close(): Promise<void>;
}

interface Entry {
  version: string;
  loading: Promise<ModelBundle>;
  bundle: ModelBundle | undefined;
  engine: InferenceEngine | undefined;
  load: ModelLoad | undefined;
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
  // With threads, the main thread's sessions only validate the bundle: keep them off the GPU.
  const mainSettings: SessionSettings = threads > 0 ? { ...settings, executionProvider: "cpu" } : settings;

  async function fetchAndLoad(version: string): Promise<{ bundle: ModelBundle; engine: InferenceEngine; load: ModelLoad }> {
    const started = performance.now();
    let local = await fetchBundle(source, version, cacheDir);
    let fetchMs = performance.now() - started;
    let bundle: ModelBundle;
    try {
      bundle = await loadBundle(local.dir, mainSettings);
    } catch (error) {
      // A copy we did not just download and check may have been damaged on disk since
      // (or written before a power cut): fetch it once more before giving up.
      if (!(error instanceof BundleError) || local.downloaded) throw error;
      logger?.warn({ modelVersion: version, err: error.message }, "local copy of the model is invalid; downloading it again");
      const again = performance.now();
      await discardLocalBundle(cacheDir, version);
      local = await fetchBundle(source, version, cacheDir);
      fetchMs += performance.now() - again;
      bundle = await loadBundle(local.dir, mainSettings);
    }
    let engine: InferenceEngine;
    try {
      engine = threads > 0 ? await startThreadedEngine(local.dir, settings, threads, options.engine) : inProcessEngine(bundle, options.engine);
    } catch (error) {
      await bundle.close();
      throw error;
    }
    if (bundle.manifest.version !== version) {
      logger?.warn({ modelVersion: version, manifestVersion: bundle.manifest.version }, "model store folder and manifest disagree on the version");
    }
    return { bundle, engine, load: { version, fetchMs, loadMs: performance.now() - started - fetchMs, downloaded: local.downloaded } };
  }

  function startLoad(version: string): Entry {
    const entry: Entry = {
      version,
      loading: fetchAndLoad(version).then(({ bundle, engine, load }) => {
        entry.bundle = bundle;
        entry.engine = engine;
        entry.load = load;
        logger?.info({ modelVersion: version, fetchMs: load.fetchMs, loadMs: load.loadMs, downloaded: load.downloaded }, "model loaded");
        onLoad?.(load);
        return bundle;
      }),
      bundle: undefined,
      engine: undefined,
      load: undefined,
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
    const loaded = [...entries.values()].filter((e) => e.bundle !== undefined);
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
    const { bundle, engine } = entry;
    if (!bundle) return;
    const done = Promise.all([engine?.close(), bundle.close()])
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
    let bundle: ModelBundle;
    try {
      bundle = await entry.loading;
      if (closed) throw new Error("model cache is closed");
    } catch (error) {
      entry.refs--;
      throw error;
    }
    entry.lastUsed = ++tick;
    const held = entry;
    let released = false;
    return {
      version,
      bundle,
      engine: held.engine as InferenceEngine,
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
        return await fn(lease.bundle, lease.version);
      } finally {
        lease.release();
      }
    },
    loaded() {
      return [...entries.values()]
        .filter((e): e is Entry & { load: ModelLoad } => e.bundle !== undefined && e.load !== undefined)
        .map((e) => ({ ...e.load, inUse: e.refs, inferenceThreads: e.engine?.parallelism ?? 0 }))
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
