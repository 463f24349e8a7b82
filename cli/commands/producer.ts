import { dependencyOfSnapshotError, producerSnapshot } from "../../producers/producer-metrics.js";
import { RunFeeder } from "../../producers/run-feeder.js";
import { createProducerMetrics } from "../../shared/metrics/metrics.js";
import { startScheduleWorker } from "../../producers/schedules/schedule-worker.js";
import { onShutdown } from "../../shared/process/shutdown.js";
import { redisConnection } from "../../shared/queue/describe-queue.js";
import { openObjectStore } from "../../shared/storage/object-store.js";
import { resolveVersion } from "../../shared/model-store/model-store.js";
import { serveObservability } from "../observability.js";
import { Services } from "../services.js";
import { parseFlags } from "../usage-error.js";

/**
 * `facet producer`: the long-running feeder. Snapshots new runs and keeps every running
 * run's backlog in Redis topped up from the ledger. Several may run (e.g. one per
 * Kubernetes replica): every decision is re-read from Postgres and job ids are deterministic.
 * It also hosts the schedule worker, which turns each fire of a `facet schedule` into a run
 * (run ids derived from the fire, so several producers never double one).
 */
export async function producerCommand(args: string[]): Promise<number> {
  parseFlags("producer", args, {});
  const services = new Services("producer");
  // Read only to resolve a schedule's `latest` to the version its run pins, at fire time.
  const models = openObjectStore(services.config.MODEL_STORE, { ...services.s3, access: "bundles" });
  const metrics = createProducerMetrics(producerSnapshot(services.ledger, services.queue), (error) => {
    metrics.dependencyErrors.inc({ dependency: dependencyOfSnapshotError(error) });
    services.logger.warn({ err: error, stage: "metrics" }, "reading queue and run state for /metrics failed");
  });
  let observability: { close(): Promise<void> } | undefined;
  try {
    observability = await serveObservability(services, metrics.registry);
    const feeder = new RunFeeder({
      ledger: services.ledger,
      queue: services.queue,
      suspectQueue: services.suspectQueue,
      logger: services.logger,
      backlogPerRun: services.config.BACKLOG_PER_RUN,
      healIntervalMs: services.config.HEAL_INTERVAL_MS,
      apply: { applyFunction: services.config.CATALOGUE_APPLY_FUNCTION, reviewThreshold: services.config.REVIEW_THRESHOLD, reviewAttributes: services.config.REVIEW_ATTRIBUTES },
      onLostJobs: (losses) => losses.forEach((loss) => metrics.lostJobs.inc({ kind: loss.kind })),
    });
    const schedules = startScheduleWorker({
      connection: redisConnection(services.config.REDIS_URL),
      prefix: services.config.QUEUE_PREFIX,
      ledger: services.ledger,
      resolveModel: (requested) => resolveVersion(models, requested),
      logger: services.logger,
      shutdownDeadlineMs: services.config.SHUTDOWN_DEADLINE_MS,
    });
    feeder.start();
    services.logger.info({ backlogPerRun: services.config.BACKLOG_PER_RUN }, "producer started");
    const signal = await onShutdown(async () => {
      await Promise.all([feeder.stop(), schedules.stop()]);
    }, { hardDeadlineMs: services.config.SHUTDOWN_DEADLINE_MS + 5000 });
    services.logger.info({ signal }, "producer stopped");
    return 0;
  } finally {
    await observability?.close();
    models.close();
    await services.close();
  }
}
