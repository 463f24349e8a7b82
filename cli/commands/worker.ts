import { onShutdown } from "../../shared/process/shutdown.js";
import { DESCRIBE_ATTEMPTS, redisConnection } from "../../shared/queue/describe-queue.js";
import { openObjectStore } from "../../shared/storage/object-store.js";
import { createDescribeProcessor } from "../../workers/describe-processor.js";
import { startDescribeWorker } from "../../workers/describe-worker.js";
import { createModelCache } from "../../workers/model-store/model-cache.js";
import { openModelSource } from "../../workers/model-store/model-source.js";
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
  const source = openModelSource(c.MODEL_STORE, services.s3);
  const models = createModelCache({
    source,
    cacheDir: c.MODEL_CACHE_DIR,
    settings: { executionProvider: c.EXECUTION_PROVIDER, intraOpThreads: c.ORT_INTRA_OP_THREADS },
    logger: services.logger,
  });
  try {
    const processor = createDescribeProcessor({
      ledger: services.ledger,
      images: openObjectStore(c.IMAGE_STORE, services.s3),
      models,
      logger: services.logger,
      apply: { applyFunction: c.CATALOGUE_APPLY_FUNCTION, reviewThreshold: c.REVIEW_THRESHOLD, reviewAttributes: c.REVIEW_ATTRIBUTES },
      batchSize: c.BATCH_SIZE,
      inferenceConcurrency: c.INFERENCE_CONCURRENCY,
      batchMaxWaitMs: c.BATCH_MAX_WAIT_MS,
      fetchTimeoutMs: c.FETCH_TIMEOUT_MS,
      maxInputPixels: c.MAX_INPUT_PIXELS,
      attempts: DESCRIBE_ATTEMPTS,
    });
    const worker = startDescribeWorker({
      connection: redisConnection(c.REDIS_URL),
      prefix: c.QUEUE_PREFIX,
      concurrency: c.WORKER_CONCURRENCY,
      ...processor,
      logger: services.logger,
      shutdownDeadlineMs: c.SHUTDOWN_DEADLINE_MS,
      lockDurationMs: c.WORKER_LOCK_DURATION_MS,
      stalledIntervalMs: c.WORKER_STALLED_INTERVAL_MS,
    });
    services.logger.info({ concurrency: c.WORKER_CONCURRENCY, batchSize: c.BATCH_SIZE, provider: c.EXECUTION_PROVIDER }, "worker started");
    const signal = await onShutdown(() => worker.stop());
    services.logger.info({ signal }, "worker stopped");
    return 0;
  } finally {
    await models.close();
    source.close();
    await services.close();
  }
}
