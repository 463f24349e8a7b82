import sharp from "sharp";
import { createWorkerMetrics } from "../../shared/metrics/metrics.js";
import { onShutdown } from "../../shared/process/shutdown.js";
import { DESCRIBE_ATTEMPTS, redisConnection } from "../../shared/queue/describe-queue.js";
import { openObjectStore } from "../../shared/storage/object-store.js";
import { createDescribeProcessor } from "../../workers/describe-processor.js";
import { createDecodeGuard } from "../../workers/decode-guard.js";
import { repeatLimited } from "../../shared/logging/logger.js";
import { startDescribeWorker } from "../../workers/describe-worker.js";
import type { Logger } from "../../shared/logging/logger.js";
import type { ModelCache } from "../../workers/model-cache.js";
import { serveObservability } from "../observability.js";
import { modelCacheFromConfig } from "../model-cache-config.js";
import { Services } from "../services.js";
import { parseFlags } from "../usage-error.js";

/**
 * `facet worker`: takes describe jobs from the queue until SIGTERM/SIGINT, then stops
 * taking jobs, finishes the ones in hand within SHUTDOWN_DEADLINE_MS and exits 0.
 */
export async function workerCommand(args: string[]): Promise<number> {
  parseFlags("worker", args, {});
  const services = new Services("worker");
  const c = services.config;
  sharp.concurrency(c.SHARP_CONCURRENCY);
  const source = openObjectStore(c.MODEL_STORE, { ...services.s3, access: "bundles" });
  const images = openObjectStore(c.IMAGE_STORE, { ...services.s3, access: "photos" });
  const metrics = createWorkerMetrics({ loadedModels: () => models.loaded() });
  const models = modelCacheFromConfig(c, source, services.logger, (load) => metrics.modelLoad.observe((load.fetchMs + load.loadMs) / 1000));
  const preload = preloadModel(models, c.WORKER_PRELOAD_MODEL, services.logger);
  const connection = redisConnection(c.REDIS_URL);
  const journalErrors = repeatLimited(services.logger);
  const decodes = createDecodeGuard({
    connection,
    prefix: c.QUEUE_PREFIX,
    onError: (err) => {
      metrics.dependencyErrors.inc({ dependency: "redis" });
      journalErrors("warn", { err, dependency: "redis" }, "decode journal: Redis does not answer", err.message);
    },
  });
  let observability: { close(): Promise<void> } | undefined;
  try {
    observability = await serveObservability(services, metrics.registry, {
      model: async () => {
        const loaded = models.loaded();
        if (loaded.length === 0) throw new Error(`no model loaded yet (${preload.status()})`);
        return `loaded ${loaded.map((m) => m.version).join(", ")}`;
      },
    });
    const processor = createDescribeProcessor({
      ledger: services.ledger,
      images,
      models,
      logger: services.logger,
      apply: { applyFunction: c.CATALOGUE_APPLY_FUNCTION, reviewThreshold: c.REVIEW_THRESHOLD, reviewAttributes: c.REVIEW_ATTRIBUTES },
      batchSize: c.BATCH_SIZE,
      batchMaxWaitMs: c.BATCH_MAX_WAIT_MS,
      fetchTimeoutMs: c.FETCH_TIMEOUT_MS,
      fetchConcurrency: c.FETCH_CONCURRENCY,
      attempts: DESCRIBE_ATTEMPTS,
      metrics,
      decodes,
      crash: { products: c.FAULT_CRASH_PRODUCTS, stage: c.FAULT_CRASH_STAGE },
    });
    const worker = startDescribeWorker({
      connection,
      prefix: c.QUEUE_PREFIX,
      concurrency: c.WORKER_CONCURRENCY,
      ...processor,
      logger: services.logger,
      shutdownDeadlineMs: c.SHUTDOWN_DEADLINE_MS,
      lockDurationMs: c.WORKER_LOCK_DURATION_MS,
      stalledIntervalMs: c.WORKER_STALLED_INTERVAL_MS,
      autorun: false,
    });
    // BullMQ's worker reports its Redis connection's errors here.
    for (const w of worker.workers) w.on("error", () => metrics.dependencyErrors.inc({ dependency: "redis" }));
    const started = performance.now();
    // Take jobs only once the model is loaded and Postgres answers: a worker that dies while
    // loading then holds nothing, and no job waits on a worker that cannot serve it yet.
    void Promise.all([preload.ready, untilPostgresAnswers(services, worker.stopped)]).then(() => {
      if (worker.stopped()) return;
      worker.start();
      services.logger.info(
        { concurrency: c.WORKER_CONCURRENCY, inferenceThreads: c.INFERENCE_THREADS, batchSize: c.BATCH_SIZE, provider: c.EXECUTION_PROVIDER, readyMs: Math.round(performance.now() - started) },
        "worker ready; taking jobs",
      );
    });
    const signal = await onShutdown(() => worker.stop(), { hardDeadlineMs: c.SHUTDOWN_DEADLINE_MS + 5000 });
    services.logger.info({ signal }, "worker stopped");
    return 0;
  } finally {
    preload.stop();
    await observability?.close();
    await models.close();
    source.close();
    images.close();
    decodes.close();
    await services.close();
  }
}

/** Resolves once `select 1` succeeds (retried every second while Postgres is down), or once `stopped()`. */
async function untilPostgresAnswers(services: Services, stopped: () => boolean): Promise<void> {
  while (!stopped()) {
    try {
      await services.db.raw("select 1");
      return;
    } catch (error) {
      services.logger.warn({ err: error, dependency: "postgres" }, "Postgres does not answer yet; not taking jobs");
      await new Promise((resolve) => setTimeout(resolve, 1000).unref());
    }
  }
}

/**
 * Load `version` (WORKER_PRELOAD_MODEL, default `latest`) as the worker starts, so it is warm
 * before the first job and /readyz can say a model is loaded; retried every 30 s until it
 * works (an empty model store, a store not reachable yet). Empty: nothing is preloaded.
 */
function preloadModel(models: ModelCache, version: string, logger: Logger) {
  let state = version ? `loading ${version}` : "preloading disabled; waiting for the first job";
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  let loaded: () => void = () => {};
  const ready = new Promise<void>((resolve) => (loaded = resolve));
  if (!version) loaded();
  const attempt = () => {
    if (!version || stopped) return;
    models.acquire(version).then(
      (lease) => {
        lease.release();
        state = `preloaded ${lease.version}`;
        loaded();
      },
      (error: unknown) => {
        state = `preloading ${version} failed: ${error instanceof Error ? error.message : String(error)}; retrying in 30 s`;
        logger.warn({ modelVersion: version, err: error, stage: "model_load" }, "preloading the model failed; retrying in 30 s");
        if (!stopped) timer = setTimeout(attempt, 30_000).unref();
      },
    );
  };
  attempt();
  return {
    /** Resolves once the model is loaded (at once when preloading is disabled). */
    ready,
    status: () => state,
    stop() {
      stopped = true;
      clearTimeout(timer);
    },
  };
}
