import { createHash } from "node:crypto";
import type { Job } from "bullmq";
import pLimit from "p-limit";
import { failureReason, FacetError, TransientError } from "../shared/errors/index.js";
import type { Logger } from "../shared/logging/logger.js";
import { describeJobSchema, SUSPECT_QUEUE, type DescribeJob } from "../shared/queue/describe-queue.js";
import { getRun, handBackPausedItem, type LedgerContext } from "../shared/ledger/run-ledger.js";
import type { Run } from "../shared/ledger/run.js";
import type { ObjectStore } from "../shared/storage/object-store.js";
import type { ModelBundle } from "../models/runtime/bundle.js";
import { createDescriber, type Describer, type PreparedProduct } from "../models/runtime/describer.js";
import type { InferenceEngine } from "../models/runtime/inference-engine.js";
import type { Stage, WorkerMetrics } from "../shared/metrics/metrics.js";
import { withSellerFacts } from "../models/review/seller-review.js";
import type { SellerInput } from "../models/review/seller-facts.js";
import { createItemLookup } from "./item-lookup.js";
import { MicroBatcher } from "./micro-batcher.js";
import { writeOutcomes, type ApplySettings, type ItemOutcome } from "./result-writer.js";

/** Loaded model bundles by version; `release` when a batch no longer needs it. */
export interface ModelProvider {
  acquire(version: string): Promise<{ bundle: ModelBundle; engine: InferenceEngine; release(): void }>;
}

export interface DescribeProcessorDeps {
  ledger: LedgerContext;
  images: ObjectStore;
  models: ModelProvider;
  logger: Logger;
  apply: ApplySettings;
  /** BATCH_SIZE and BATCH_MAX_WAIT_MS. */
  batchSize: number;
  batchMaxWaitMs: number;
  /** FETCH_TIMEOUT_MS: one photo's request, from when it is sent (not while it waits for a slot). */
  fetchTimeoutMs: number;
  /** FETCH_CONCURRENCY: photo requests in flight at once in this worker. */
  fetchConcurrency: number;
  /** MAX_INPUT_PIXELS. */
  maxInputPixels: number;
  /** Attempts BullMQ makes per job; on the last one a transient error becomes the item's failure. */
  attempts: number;
  /** How long a run's state is trusted before it is read again, ms. Default 1000. */
  runCacheMs?: number;
  /** Prometheus metrics (stage times, outcomes, retries…); absent in tests that don't look. */
  metrics?: WorkerMetrics;
  /** FAULT_CRASH_PRODUCTS: products whose job kills this process (tests of poison pills). */
  crashOn?: ReadonlySet<string>;
}

/** What one job ended as (the job's return value, and a metrics label). */
export type JobResult = "done" | "failed" | "skipped" | "already_finished" | "run_paused";

interface BatchItem {
  run: Run;
  product: PreparedProduct;
  inputHash: string;
  seller: SellerInput;
}

/** The dependency an error came from, for facet_dependency_errors_total (undefined: not a dependency's). */
export function dependencyOf(error: unknown): "postgres" | "s3" | undefined {
  if (error instanceof FacetError) {
    return error.code.startsWith("object_") && error.code !== "object_missing" && error.code !== "object_key_invalid" ? "s3" : undefined;
  }
  const code = (error as { code?: unknown })?.code;
  // pg: a five-character SQLSTATE; or the socket's errno while reaching Postgres.
  if (typeof code === "string" && (/^[0-9A-Z]{5}$/.test(code) || /^E[A-Z]+$/.test(code))) return "postgres";
  if (error instanceof Error && /Knex: Timeout acquiring a connection|Connection terminated/i.test(error.message)) return "postgres";
  return undefined;
}

/**
 * The worker's job handler: fetch a product's photos, preprocess, join a micro-batch of its
 * model version, infer, write the batch's results in one transaction, then let BullMQ
 * complete the job. Permanent errors fail the item (with its reason) and complete the job;
 * transient ones throw, so BullMQ retries with backoff, until the last attempt.
 */
export function createDescribeProcessor(deps: DescribeProcessorDeps) {
  // The read itself is cached, so the jobs that find an entry stale together share one query.
  const runCache = new Map<string, { run: Promise<Run>; at: number }>();
  const items = createItemLookup(deps.ledger);
  const batchers = new Map<string, MicroBatcher<BatchItem, ItemOutcome>>();
  // The timeout starts inside the slot: a photo waiting behind others is not timed out for it.
  const fetchSlot = pLimit(deps.fetchConcurrency);
  const fetchPhoto = (key: string) => fetchSlot(() => deps.images.get(key, { signal: AbortSignal.timeout(deps.fetchTimeoutMs) }));

  function currentRun(runId: string): Promise<Run> {
    const cached = runCache.get(runId);
    if (cached && performance.now() - cached.at < (deps.runCacheMs ?? 1000)) return cached.run;
    const entry = { run: getRun(deps.ledger, runId), at: performance.now() };
    runCache.set(runId, entry);
    // A failed read is not kept: the next job reads again.
    entry.run.catch(() => {
      if (runCache.get(runId) === entry) runCache.delete(runId);
    });
    return entry.run;
  }

  /** Hold `version` only while `fn` runs (so the cache may evict idle versions). */
  async function withModel<T>(version: string, fn: (model: { bundle: ModelBundle; engine: InferenceEngine }) => Promise<T>): Promise<T> {
    const lease = await deps.models.acquire(version);
    try {
      return await fn(lease);
    } finally {
      lease.release();
    }
  }

  async function batcherFor(version: string): Promise<MicroBatcher<BatchItem, ItemOutcome>> {
    let batcher = batchers.get(version);
    if (!batcher) {
      // One batch per inference thread, plus one whose results are being written meanwhile. While
      // every thread has a batch, the next one fills (up to BATCH_SIZE or BATCH_MAX_WAIT_MS) instead
      // of leaving with whatever came: bench:pipeline's batches averaged 7 products that way, each
      // batch paying its model calls and its six ledger statements.
      const parallelism = await withModel(version, async ({ engine }) => engine.parallelism);
      batcher = batchers.get(version);
      if (batcher) return batcher;
      batcher = new MicroBatcher<BatchItem, ItemOutcome>({
        maxSize: deps.batchSize,
        maxWaitMs: deps.batchMaxWaitMs,
        maxInFlight: parallelism + 1,
        partialBelow: parallelism,
        onBatch: (size, waitedMs) => {
          deps.metrics?.batchSize.observe(size);
          for (const ms of waitedMs) deps.metrics?.stage.observe({ stage: "batch_wait" }, ms / 1000);
        },
        run: async (items) => {
          const described = await withModel(version, async ({ engine }) => {
            const busyBefore = engine.busySeconds();
            const results = await timed("inference", () => engine.infer(items.map((i) => i.product)));
            deps.metrics?.inferenceBusy.inc(Math.max(0, engine.busySeconds() - busyBefore));
            return results;
          });
          const outcomes: ItemOutcome[] = described.map((d, i) => {
            const item = items[i] as BatchItem;
            const r = withSellerFacts(d, item.seller);
            return {
              kind: "done",
              runId: item.run.id,
              productId: item.product.id,
              mode: item.run.mode,
              modelName: r.model.name,
              modelVersion: r.model.version,
              inputHash: item.inputHash,
              description: r.description,
              attributes: r.attributes,
              review: r.review,
              familiarity: r.familiarity,
              shift: r.shift,
            };
          });
          const written = await timed("write", () => writeOutcomes(deps.ledger, outcomes, deps.apply));
          if (written.run_shifted) {
            deps.logger.warn(
              { runIds: [...new Set(outcomes.map((o) => o.runId))] },
              "run shifted: its photos as a whole are unlike the bundle's training photos, so every result of it goes to review (unfamiliar_photo)",
            );
          }
          for (const o of outcomes) deps.metrics?.processed.inc({ run_id: o.runId, outcome: "done", reason: "" });
          return outcomes;
        },
      });
      batchers.set(version, batcher);
    }
    return batcher;
  }

  /** Count `error` against its dependency, if it came from one; returns that dependency. */
  function countDependencyError(error: unknown): ReturnType<typeof dependencyOf> {
    const dependency = dependencyOf(error);
    if (dependency) deps.metrics?.dependencyErrors.inc({ dependency });
    return dependency;
  }

  /** The preprocessing half of a describer, one per loaded bundle (not one per job). */
  const preprocessors = new WeakMap<ModelBundle, Describer>();
  function preprocessorFor(bundle: ModelBundle): Describer {
    let describer = preprocessors.get(bundle);
    if (!describer) preprocessors.set(bundle, (describer = createDescriber(bundle, { maxInputPixels: deps.maxInputPixels })));
    return describer;
  }

  /** Time `fn` as one observation of `stage`. */
  async function timed<T>(stage: Stage, fn: () => Promise<T>): Promise<T> {
    const started = performance.now();
    try {
      return await fn();
    } finally {
      deps.metrics?.stage.observe({ stage }, (performance.now() - started) / 1000);
    }
  }

  async function finish(outcome: ItemOutcome, log: Logger): Promise<JobResult> {
    await writeOutcomes(deps.ledger, [outcome], deps.apply);
    if (outcome.kind !== "done") {
      deps.metrics?.processed.inc({ run_id: outcome.runId, outcome: outcome.kind, reason: outcome.reason });
      log.info({ stage: "outcome", reason: outcome.reason, detail: outcome.detail }, `product ${outcome.kind}`);
    }
    return outcome.kind;
  }

  async function process(job: Job<DescribeJob>): Promise<JobResult> {
    deps.metrics?.jobsInProgress.inc();
    try {
      return await processJob(job);
    } finally {
      deps.metrics?.jobsInProgress.dec();
    }
  }

  async function processJob(job: Job<DescribeJob>): Promise<JobResult> {
    const data = describeJobSchema.parse(job.data);
    if (deps.crashOn?.has(data.productId)) globalThis.process.kill(globalThis.process.pid, "SIGKILL");
    // Every line about this item names it: run, product, job (and the model, once known).
    let log = deps.logger.child({ runId: data.runId, productId: data.productId, jobId: job.id });
    let stage = "ledger";
    try {
      return await handle();
    } catch (error) {
      // Thrown: BullMQ retries the job with backoff (transient errors, including Postgres's).
      const dependency = countDependencyError(error);
      const cause = error instanceof FacetError ? error.code : dependency ? `${dependency}_error` : "unexpected";
      deps.metrics?.retries.inc({ cause });
      log.warn({ stage, err: error, attempt: job.attemptsMade + 1, cause }, "transient error; BullMQ retries");
      throw error;
    }

    async function handle(): Promise<JobResult> {
      let run = await currentRun(data.runId);
      log = log.child({ modelVersion: run.model_version });
      if (run.state === "paused") {
        // Read again rather than trust the cache: the run may have been resumed a moment ago.
        runCache.delete(run.id);
        run = await currentRun(data.runId);
      }
      if (run.state === "paused") {
        await handBackPausedItem(deps.ledger, run.id, data.seq);
        return "run_paused";
      }
      if (run.state === "cancelled") return finish({ kind: "skipped", runId: run.id, productId: data.productId, reason: "run_cancelled" }, log);
      // The item's state and the product's photos, read with other jobs' in one query.
      const item = await items.load(run.id, data.productId);
      if (!item || item.state !== "pending") return "already_finished";
      if (!item.present) return finish({ kind: "skipped", runId: run.id, productId: data.productId, reason: "product_gone" }, log);
      const keys = item.photoKeys;
      if (keys.length === 0) return finish({ kind: "failed", runId: run.id, productId: data.productId, reason: "photo_none" }, log);

      try {
        stage = "fetch";
        const photos = await timed("fetch", () => Promise.all(keys.map(fetchPhoto)));
        const hash = createHash("sha256");
        for (const p of photos) hash.update(String(p.byteLength)).update(":").update(p);
        stage = "preprocess";
        const prepared = await timed("preprocess", () =>
          withModel(run.model_version, ({ bundle }) => preprocessorFor(bundle).preprocess({ id: data.productId, photos })),
        );
        stage = "batch";
        const seller = { texts: [item.seller.text], fields: { category: item.seller.category } };
        // A suspect (it crashed a worker before) is taken one at a time: no other suspect comes to fill its batch.
        const alone = job.queueName === SUSPECT_QUEUE;
        const outcome = await (await batcherFor(run.model_version)).submit({ run, product: prepared, inputHash: hash.digest("hex"), seller }, { now: alone });
        log.debug({ stage: "outcome" }, `product ${outcome.kind}`);
        return outcome.kind;
      } catch (error) {
        const permanent = error instanceof FacetError && !error.retryable;
        if (!permanent && job.attemptsMade + 1 < deps.attempts) {
          throw error instanceof TransientError || dependencyOf(error) === "postgres" ? error : new TransientError("transient", (error as Error).message, { cause: error });
        }
        // The item ends here (a thrown error is counted by processJob's catch instead).
        countDependencyError(error);
        return finish({ kind: "failed", runId: run.id, productId: data.productId, reason: failureReason(error), detail: (error as Error).message }, log);
      }
    }
  }

  /** Run what is waiting in the batchers (a shutdown drains before closing connections). */
  async function flush(): Promise<void> {
    await Promise.all([...batchers.values()].map((b) => b.flush()));
  }

  return { process, flush };
}
