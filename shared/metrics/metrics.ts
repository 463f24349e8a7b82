import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from "prom-client";

/**
 * Facet's Prometheus metrics (catalogue: METRICS.md beside this file). Each process builds
 * its own registry: the metrics of its role plus prom-client's default process metrics.
 * Labels stay low-cardinality: a run id at most, never a product id.
 */

/** Stage latency buckets, seconds: 1 ms to 60 s. */
const STAGE_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];
export const BATCH_SIZE_BUCKETS = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512];
export const STAGES = ["fetch", "preprocess", "batch_wait", "inference", "write"] as const;
export type Stage = (typeof STAGES)[number];
export type Dependency = "postgres" | "redis" | "s3";

function baseRegistry(role: string): Registry {
  const registry = new Registry();
  registry.setDefaultLabels({ role });
  collectDefaultMetrics({ register: registry });
  return registry;
}

export interface DependencyMetrics {
  dependencyErrors: Counter<"dependency">;
}

function dependencyErrors(registry: Registry): Counter<"dependency"> {
  const counter = new Counter({
    name: "facet_dependency_errors_total",
    help: "Errors talking to a dependency (postgres, redis, s3), whether retried or not.",
    labelNames: ["dependency"],
    registers: [registry],
  });
  // Known label values start at 0, so rate() sees the first error (and dashboards show 0, not "no data").
  for (const dependency of ["postgres", "redis", "s3"]) counter.inc({ dependency }, 0);
  return counter;
}

export interface WorkerMetrics extends DependencyMetrics {
  registry: Registry;
  processed: Counter<"run_id" | "outcome" | "reason">;
  stage: Histogram<"stage">;
  batchSize: Histogram;
  inferenceBusy: Counter;
  inferenceThreads: Gauge;
  modelLoad: Histogram;
  modelLoaded: Gauge<"model_version">;
  retries: Counter<"cause">;
  jobsInProgress: Gauge;
}

/**
 * A worker's metrics. `collect` callbacks let gauges read live state at scrape time: the
 * threads and versions of the loaded models.
 */
export function createWorkerMetrics(live: { loadedModels(): Array<{ version: string; inferenceThreads: number }> }): WorkerMetrics {
  const registry = baseRegistry("worker");
  const stage = new Histogram({
    name: "facet_stage_duration_seconds",
    help: "Time per pipeline stage: fetch and preprocess per product, batch_wait per product (joining a batch to the batch leaving), inference and write per batch.",
    labelNames: ["stage"],
    buckets: STAGE_BUCKETS,
    registers: [registry],
  });
  // Every stage has series from the start, so dashboards show zeros rather than "no data".
  for (const s of STAGES) stage.zero({ stage: s });
  return {
    registry,
    processed: new Counter({
      name: "facet_products_processed_total",
      help: "Products this worker finished, by run, outcome (done, failed, skipped) and reason code.",
      labelNames: ["run_id", "outcome", "reason"],
      registers: [registry],
    }),
    stage,
    batchSize: new Histogram({ name: "facet_batch_size", help: "Products per model call.", buckets: BATCH_SIZE_BUCKETS, registers: [registry] }),
    inferenceBusy: new Counter({
      name: "facet_inference_busy_seconds_total",
      help: "Seconds the inference threads spent running batches, summed over threads; divided by facet_inference_threads, the engine's busy share.",
      registers: [registry],
    }),
    inferenceThreads: new Gauge({
      name: "facet_inference_threads",
      help: "Inference threads of the loaded model versions.",
      registers: [registry],
      collect() {
        this.set(live.loadedModels().reduce((sum, m) => sum + m.inferenceThreads, 0));
      },
    }),
    modelLoad: new Histogram({
      name: "facet_model_load_duration_seconds",
      help: "Time to fetch, validate, load and warm up a model version.",
      buckets: [0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300],
      registers: [registry],
    }),
    modelLoaded: new Gauge({
      name: "facet_model_loaded",
      help: "1 for each model version this worker has loaded.",
      labelNames: ["model_version"],
      registers: [registry],
      collect() {
        this.reset();
        for (const m of live.loadedModels()) this.set({ model_version: m.version }, 1);
      },
    }),
    retries: new Counter({
      name: "facet_retries_total",
      help: "Jobs handed back to BullMQ for a retry, by the error code that caused it.",
      labelNames: ["cause"],
      registers: [registry],
    }),
    dependencyErrors: dependencyErrors(registry),
    jobsInProgress: new Gauge({ name: "facet_jobs_in_progress", help: "Jobs this worker holds (fetching, waiting for a batch, in the model).", registers: [registry] }),
  };
}

/** What the producer reports at each scrape (read from BullMQ and the Postgres ledger). */
export interface ProducerSnapshot {
  queue: { waiting: number; active: number; delayed: number; failed: number; oldestWaitingAgeSeconds: number };
  runs: Array<{ id: string; modelVersion: string; mode: string; state: string; total: number; pending: number; done: number; failed: number; skipped: number }>;
  runsByState: Record<string, number>;
}

export interface ProducerMetrics extends DependencyMetrics {
  registry: Registry;
  /** Jobs that left Redis without an outcome, by what happened to them (producers/lost-jobs.ts). */
  lostJobs: Counter<"kind">;
}

/**
 * The producer's metrics: queue depth and age, per-run progress and run states, read by
 * `snapshot()` once per scrape (a failed read counts a dependency error and leaves the
 * series out of that scrape rather than reporting stale numbers).
 */
export function createProducerMetrics(snapshot: () => Promise<ProducerSnapshot>, onError: (error: unknown) => void): ProducerMetrics {
  const registry = baseRegistry("producer");
  let current: Promise<ProducerSnapshot | undefined> | undefined;
  // One read per scrape, shared by the gauges below (each gauge's collect asks for it).
  const read = () => {
    current ??= snapshot()
      .catch((error: unknown) => {
        onError(error);
        return undefined;
      })
      .finally(() => setImmediate(() => (current = undefined)));
    return current;
  };
  new Gauge({
    name: "facet_queue_jobs",
    help: "Jobs in the BullMQ queue by state (waiting includes prioritized).",
    labelNames: ["queue", "state"],
    registers: [registry],
    async collect() {
      this.reset();
      const s = await read();
      if (!s) return;
      for (const state of ["waiting", "active", "delayed", "failed"] as const) this.set({ queue: "describe", state }, s.queue[state]);
    },
  });
  new Gauge({
    name: "facet_queue_oldest_waiting_age_seconds",
    help: "Age of the oldest waiting job, seconds (0 when none wait).",
    labelNames: ["queue"],
    registers: [registry],
    async collect() {
      this.reset();
      const s = await read();
      if (s) this.set({ queue: "describe" }, s.queue.oldestWaitingAgeSeconds);
    },
  });
  new Gauge({
    name: "facet_run_products",
    help: "Per-run products by ledger state (total, pending, done, failed, skipped), for runs not finished and runs finished in the last 24 h.",
    labelNames: ["run_id", "state"],
    registers: [registry],
    async collect() {
      this.reset();
      for (const r of (await read())?.runs ?? []) {
        for (const state of ["total", "pending", "done", "failed", "skipped"] as const) this.set({ run_id: r.id, state }, r[state]);
      }
    },
  });
  new Gauge({
    name: "facet_run_info",
    help: "What each run is: model version, mode and state (always 1).",
    labelNames: ["run_id", "model_version", "mode", "state"],
    registers: [registry],
    async collect() {
      this.reset();
      for (const r of (await read())?.runs ?? []) this.set({ run_id: r.id, model_version: r.modelVersion, mode: r.mode, state: r.state }, 1);
    },
  });
  new Gauge({
    name: "facet_runs",
    help: "Runs by state.",
    labelNames: ["state"],
    registers: [registry],
    async collect() {
      this.reset();
      const s = await read();
      if (s) for (const [state, n] of Object.entries(s.runsByState)) this.set({ state }, n);
    },
  });
  const lostJobs = new Counter({
    name: "facet_queue_lost_jobs_total",
    help: "Jobs of unfinished items found gone from Redis (missing), failed by the stall limit (crashed) or failed without an outcome (failed); each is enqueued again or, at its limit, ends the item.",
    labelNames: ["kind"],
    registers: [registry],
  });
  return { registry, dependencyErrors: dependencyErrors(registry), lostJobs };
}
