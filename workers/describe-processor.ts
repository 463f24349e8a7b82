import { createHash } from "node:crypto";
import { UnrecoverableError, type Job } from "bullmq";
import pLimit from "p-limit";
import type { ItemReason } from "../shared/errors/index.js";
import type { Logger } from "../shared/logging/logger.js";
import { describeJobSchema, SUSPECT_QUEUE, type DescribeJob } from "../shared/queue/describe-queue.js";
import { handBackPausedItem, type LedgerContext } from "../shared/ledger/run-ledger.js";
import type { Run } from "../shared/ledger/run.js";
import { createItemLookup, type ItemForJob } from "../shared/ledger/item-lookup.js";
import { writeOutcomes, type ApplySettings, type ItemOutcome } from "../shared/ledger/write-outcomes.js";
import { chargeDecodeCrash, DECODE_CRASH_LIMIT } from "../shared/ledger/decode-crashes.js";
import type { ObjectStore } from "../shared/storage/object-store.js";
import type { WorkerMetrics } from "../shared/metrics/metrics.js";
import type { InferenceEngine } from "../models/runtime/inference-engine.js";
import type { Preprocessor } from "../models/runtime/preprocessor.js";
import { createBatchPipeline, timed } from "./batch-pipeline.js";
import { classifyFailure } from "./classify-failure.js";
import { createRunStateCache, DEFAULT_RUN_CACHE_MS } from "./run-state-cache.js";
import type { DecodeGuard } from "./decode-guard.js";

/** Loaded model versions: each one's preprocessing (from its manifest) and inference engine; `release` when a job or batch no longer needs it. */
export interface ModelProvider {
  acquire(version: string): Promise<{ preprocessor: Preprocessor; engine: InferenceEngine; release(): void }>;
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
  /** Attempts BullMQ makes per job; on the last one a transient error becomes the item's failure. */
  attempts: number;
  /** How long a run's state is trusted before it is read again, ms. Default 1000. */
  runCacheMs?: number;
  /** Prometheus metrics (stage times, outcomes, retries…); absent in tests that don't look. */
  metrics?: WorkerMetrics;
  /** Journals photo decodes, so a death while decoding is charged to that product alone; suspects decode alone. */
  decodes: DecodeGuard;
  /** FAULT_CRASH_PRODUCTS and FAULT_CRASH_STAGE: products whose job kills this process, and where (tests of poison pills). */
  crash?: { products: ReadonlySet<string>; stage: "decode" | "pickup" };
}

/** What one job ended as (the job's return value, and a metrics label). */
export type JobResult = "done" | "failed" | "skipped" | "already_finished" | "run_paused";

/** A job's item, once its run says it is to be described. */
type Work = { kind: "describe"; run: Run; item: ItemForJob; suspect: boolean } | { kind: "settled"; result: JobResult } | { kind: "outcome"; outcome: ItemOutcome };

/**
 * The worker's job handler, in four named parts: the run's state (a short-lived cache), the
 * item and its photos (looked up many at a time; a job taken back from a worker that died
 * decoding its photos is charged that death first), fetch and preprocess (the decode journalled,
 * a suspect's alone: workers/decode-guard.ts), then the batch pipeline
 * (micro-batch, inference, one write per batch). Every error goes through one rule,
 * `classifyFailure`: a permanent one ends the item with its reason and completes the job; a
 * transient one is thrown, so BullMQ retries with backoff, until the last attempt ends the item.
 * Successes and failures are written by the same `writeOutcomes`.
 */
export function createDescribeProcessor(deps: DescribeProcessorDeps) {
  const { metrics } = deps;
  const runs = createRunStateCache(deps.ledger, deps.runCacheMs ?? DEFAULT_RUN_CACHE_MS);
  const items = createItemLookup(deps.ledger);
  const pipeline = createBatchPipeline({ ...deps, withEngine: (version, fn) => withModel(version, ({ engine }) => fn(engine)) });
  // The timeout starts inside the slot: a photo waiting behind others is not timed out for it.
  const fetchSlot = pLimit(deps.fetchConcurrency);
  const fetchPhoto = (key: string) => fetchSlot(() => deps.images.get(key, { signal: AbortSignal.timeout(deps.fetchTimeoutMs) }));

  /** FAULT_CRASH_PRODUCTS: die here, as a poison pill's worker does, if `productId` is one and `stage` is FAULT_CRASH_STAGE. */
  function crashIfPoisoned(stage: "decode" | "pickup", productId: string): void {
    if (deps.crash?.stage === stage && deps.crash.products.has(productId)) globalThis.process.kill(globalThis.process.pid, "SIGKILL");
  }

  /** Hold `version` only while `fn` runs (so the cache may evict idle versions). */
  async function withModel<T>(version: string, fn: (model: { preprocessor: Preprocessor; engine: InferenceEngine }) => Promise<T>): Promise<T> {
    const lease = await deps.models.acquire(version);
    try {
      return await fn(lease);
    } finally {
      lease.release();
    }
  }

  /** The job's payload, or an UnrecoverableError: a job with no valid item can only be dropped (the producer re-enqueues a pending item from the ledger). */
  function parseJob(job: Job<DescribeJob>): DescribeJob {
    const parsed = describeJobSchema.safeParse(job.data);
    if (parsed.success) return parsed.data;
    const issue = parsed.error.issues[0];
    throw new UnrecoverableError(`job ${job.id}: invalid payload: ${issue?.path.join(".") || "data"}: ${issue?.message ?? "invalid"}`);
  }

  /** What the ledger says about the job's item: describe it, or it is settled already. */
  async function workFor(data: DescribeJob, job: Job<DescribeJob>): Promise<Work> {
    let run = await runs.get(data.runId);
    // Read again rather than trust the cache: the run may have been resumed a moment ago.
    if (run.state === "paused") run = await runs.fresh(data.runId);
    if (run.state === "paused") {
      await handBackPausedItem(deps.ledger, run.id, data.seq);
      return { kind: "settled", result: "run_paused" };
    }
    const ended = (kind: "failed" | "skipped", reason: ItemReason, detail?: string): Work => ({
      kind: "outcome",
      outcome: { kind, runId: run.id, productId: data.productId, reason, ...(detail ? { detail } : {}) },
    });
    if (run.state === "cancelled") return ended("skipped", "run_cancelled");
    const item = await items.load(run.id, data.productId);
    if (!item || item.state !== "pending") return { kind: "settled", result: "already_finished" };
    if (!item.present) return ended("skipped", "product_gone");
    if (item.photoKeys.length === 0) return ended("failed", "photo_none");
    const deaths = await decodeDeaths(job, data);
    if (deaths === undefined) return { kind: "settled", result: "already_finished" };
    if (deaths >= DECODE_CRASH_LIMIT) {
      return ended("failed", "worker_crashed", `its worker died while decoding its photos ${deaths} times, the last time with no other photo being decoded`);
    }
    return { kind: "describe", run, item, suspect: item.crashes > 0 || deaths > 0 };
  }

  /**
   * The decode deaths charged to the job's item, counting one more if the worker that held
   * this job last died decoding its photos; undefined if the item is no longer pending.
   */
  async function decodeDeaths(job: Job<DescribeJob>, data: DescribeJob): Promise<number | undefined> {
    // Only a job taken back from a dead worker (stalled) or moved to the suspect queue can have an entry: others skip the read.
    if (job.stalledCounter === 0 && job.queueName !== SUSPECT_QUEUE) return 0;
    const mark = await deps.decodes.diedDecoding(job);
    if (mark === undefined) return 0;
    const deaths = await chargeDecodeCrash(deps.ledger, data.runId, data.productId, mark);
    // Cleared only once charged: a worker dying in between leaves it, and the charge is not repeated (same mark).
    await deps.decodes.forget(job);
    deps.logger.warn({ runId: data.runId, productId: data.productId, jobId: job.id, decodeCrashes: deaths }, "its last worker died decoding its photos; it decodes alone now");
    return deaths;
  }

  /** Fetch, hash and preprocess the item's photos, then describe it in a batch. */
  async function describe(data: DescribeJob, work: Extract<Work, { kind: "describe" }>, job: Job<DescribeJob>, at: { stage: string }): Promise<ItemOutcome> {
    const { run, item, suspect } = work;
    at.stage = "fetch";
    const photos = await timed(metrics, "fetch", () => Promise.all(item.photoKeys.map(fetchPhoto)));
    const hash = createHash("sha256");
    for (const p of photos) hash.update(String(p.byteLength)).update(":").update(p);
    at.stage = "preprocess";
    const product = await timed(metrics, "preprocess", () =>
      withModel(run.model_version, ({ preprocessor }) =>
        deps.decodes.decode(job, suspect, () => {
          crashIfPoisoned("decode", data.productId);
          return preprocessor.preprocess({ id: data.productId, photos });
        }),
      ),
    );
    at.stage = "batch";
    const seller = { texts: [item.seller.text], fields: { category: item.seller.category } };
    // A suspect (it crashed a worker before) is taken one at a time: no other suspect comes to fill its batch.
    return pipeline.submit({ run, product, inputHash: hash.digest("hex"), seller }, { alone: job.queueName === SUSPECT_QUEUE });
  }

  /** Write an item's end that no batch wrote (a failure, a skip). */
  async function settle(outcome: ItemOutcome, log: Logger): Promise<JobResult> {
    await writeOutcomes(deps.ledger, [outcome], deps.apply);
    if (outcome.kind !== "done") {
      metrics?.processed.inc({ run_id: outcome.runId, outcome: outcome.kind, reason: outcome.reason });
      log.info({ stage: "outcome", reason: outcome.reason, detail: outcome.detail }, `product ${outcome.kind}`);
    }
    return outcome.kind;
  }

  async function processJob(job: Job<DescribeJob>): Promise<JobResult> {
    const data = parseJob(job);
    crashIfPoisoned("pickup", data.productId);
    // Every line about this item names it: run, product, job (and the model, once known).
    let log = deps.logger.child({ runId: data.runId, productId: data.productId, jobId: job.id });
    const at = { stage: "ledger" };
    try {
      const work = await workFor(data, job);
      if (work.kind === "settled") return work.result;
      if (work.kind === "outcome") return await settle(work.outcome, log);
      log = log.child({ modelVersion: work.run.model_version });
      const outcome = await describe(data, work, job, at);
      log.debug({ stage: "outcome" }, `product ${outcome.kind}`);
      return outcome.kind;
    } catch (error) {
      const decision = classifyFailure(error, { attempt: job.attemptsMade + 1, attempts: deps.attempts });
      if (decision.dependency) metrics?.dependencyErrors.inc({ dependency: decision.dependency });
      if (decision.kind === "retry") {
        metrics?.retries.inc({ cause: decision.cause });
        log.warn({ stage: at.stage, err: error, attempt: job.attemptsMade + 1, cause: decision.cause }, "transient error; BullMQ retries");
        throw decision.error;
      }
      // If this write fails too (Postgres is down), the job fails and the producer, which
      // reconciles the ledger with the queue, hands the pending item out again.
      return settle({ kind: "failed", runId: data.runId, productId: data.productId, reason: decision.reason, detail: decision.detail }, log);
    }
  }

  async function process(job: Job<DescribeJob>): Promise<JobResult> {
    metrics?.jobsInProgress.inc();
    try {
      return await processJob(job);
    } finally {
      metrics?.jobsInProgress.dec();
    }
  }

  return { process, flush: () => pipeline.flush() };
}
