import { createHash } from "node:crypto";
import type { Job } from "bullmq";
import { FacetError, PermanentError, TransientError } from "../shared/errors/index.js";
import type { Logger } from "../shared/logging/logger.js";
import { describeJobSchema, type DescribeJob } from "../shared/queue/describe-queue.js";
import { getRun, type LedgerContext } from "../shared/ledger/run-ledger.js";
import type { Run } from "../shared/ledger/run.js";
import type { ObjectStore } from "../shared/storage/object-store.js";
import type { ModelBundle } from "../models/runtime/bundle.js";
import { createDescriber, type Describer, type PreparedProduct } from "../models/runtime/describer.js";
import { MicroBatcher } from "./micro-batcher.js";
import { writeOutcomes, type ApplySettings, type ItemOutcome } from "./result-writer.js";

/** Loaded model bundles by version; `release` when a batch no longer needs it. */
export interface ModelProvider {
  acquire(version: string): Promise<{ bundle: ModelBundle; release(): void }>;
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
  /** FETCH_TIMEOUT_MS: one photo. */
  fetchTimeoutMs: number;
  /** MAX_INPUT_PIXELS. */
  maxInputPixels: number;
  /** Attempts BullMQ makes per job; on the last one a transient error becomes the item's failure. */
  attempts: number;
  /**
   * Batches in the model at once (INFERENCE_CONCURRENCY). Default 2: while one batch's results
   * are written, the next one infers; each onnxruntime call runs on its own thread. Raised
   * end-to-end products/s from 87 to 104 in `npm run bench:pipeline` on 2 cores.
   */
  inferenceConcurrency?: number;
  /** How long a run's state is trusted before it is read again, ms. Default 1000. */
  runCacheMs?: number;
}

/** What one job ended as (the job's return value, and a metrics label). */
export type JobResult = "done" | "failed" | "skipped" | "already_finished" | "run_paused";

interface BatchItem {
  run: Run;
  product: PreparedProduct;
  inputHash: string;
}

/**
 * The worker's job handler: fetch a product's photos, preprocess, join a micro-batch of its
 * model version, infer, write the batch's results in one transaction, then let BullMQ
 * complete the job. Permanent errors fail the item (with its reason) and complete the job;
 * transient ones throw, so BullMQ retries with backoff, until the last attempt.
 */
export function createDescribeProcessor(deps: DescribeProcessorDeps) {
  const runCache = new Map<string, { run: Run; at: number }>();
  const batchers = new Map<string, MicroBatcher<BatchItem, ItemOutcome>>();

  async function currentRun(runId: string): Promise<Run> {
    const cached = runCache.get(runId);
    if (cached && performance.now() - cached.at < (deps.runCacheMs ?? 1000)) return cached.run;
    const run = await getRun(deps.ledger, runId);
    runCache.set(runId, { run, at: performance.now() });
    return run;
  }

  /** Run `fn` with a describer for `version`, holding the bundle only meanwhile (so the cache may evict idle versions). */
  async function withDescriber<T>(version: string, fn: (describer: Describer) => Promise<T>): Promise<T> {
    const lease = await deps.models.acquire(version);
    try {
      return await fn(createDescriber(lease.bundle, { batchSize: deps.batchSize, maxInputPixels: deps.maxInputPixels }));
    } finally {
      lease.release();
    }
  }

  function batcherFor(version: string): MicroBatcher<BatchItem, ItemOutcome> {
    let batcher = batchers.get(version);
    if (!batcher) {
      batcher = new MicroBatcher<BatchItem, ItemOutcome>({
        maxSize: deps.batchSize,
        maxWaitMs: deps.batchMaxWaitMs,
        maxInFlight: deps.inferenceConcurrency ?? 2,
        run: async (items) => {
          const described = await withDescriber(version, (d) => d.infer(items.map((i) => i.product)));
          const outcomes: ItemOutcome[] = described.map((r, i) => {
            const item = items[i] as BatchItem;
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
            };
          });
          await writeOutcomes(deps.ledger, outcomes, deps.apply);
          return outcomes;
        },
      });
      batchers.set(version, batcher);
    }
    return batcher;
  }

  async function finish(outcome: ItemOutcome, job: Job<DescribeJob>): Promise<JobResult> {
    await writeOutcomes(deps.ledger, [outcome], deps.apply);
    if (outcome.kind !== "done") deps.logger.info({ runId: outcome.runId, productId: outcome.productId, jobId: job.id, stage: "outcome", reason: outcome.reason }, `product ${outcome.kind}`);
    return outcome.kind;
  }

  async function process(job: Job<DescribeJob>): Promise<JobResult> {
    const data = describeJobSchema.parse(job.data);
    let run = await currentRun(data.runId);
    if (run.state === "paused") {
      // Read again rather than trust the cache: the run may have been resumed a moment ago.
      runCache.delete(run.id);
      run = await currentRun(data.runId);
    }
    if (run.state === "paused") {
      // Hand the item back: it stays pending, and the feeder's cursor moves back before it,
      // so the item is enqueued again when the run resumes (whenever that happens).
      await deps.ledger.db
        .withSchema(deps.ledger.schema)
        .table("runs")
        .where({ id: run.id })
        .update({ enqueued_seq: deps.ledger.db.raw("least(enqueued_seq, ?)", [data.seq - 1]) });
      return "run_paused";
    }
    if (run.state === "cancelled") return finish({ kind: "skipped", runId: run.id, productId: data.productId, reason: "run_cancelled" }, job);
    const item = await deps.ledger.db.withSchema(deps.ledger.schema).table("run_items").where({ run_id: run.id, product_id: data.productId }).first("state");
    if (!item || item.state !== "pending") return "already_finished";

    const product = await deps.ledger.db.from(deps.ledger.catalogue).where({ product_id: data.productId }).first("photo_keys");
    if (!product) return finish({ kind: "skipped", runId: run.id, productId: data.productId, reason: "product_gone" }, job);
    const keys: string[] = product.photo_keys ?? [];
    if (keys.length === 0) return finish({ kind: "failed", runId: run.id, productId: data.productId, reason: "photo_none" }, job);

    try {
      const photos = await Promise.all(keys.map((key) => deps.images.get(key, { signal: AbortSignal.timeout(deps.fetchTimeoutMs) })));
      const hash = createHash("sha256");
      for (const p of photos) hash.update(String(p.byteLength)).update(":").update(p);
      const prepared = await withDescriber(run.model_version, (d) => d.preprocess({ id: data.productId, photos }));
      const outcome = await batcherFor(run.model_version).submit({ run, product: prepared, inputHash: hash.digest("hex") });
      return outcome.kind;
    } catch (error) {
      if (error instanceof PermanentError || (error instanceof FacetError && !error.retryable)) {
        const reason = (error as FacetError).code === "object_missing" ? "photo_missing" : (error as FacetError).code;
        return finish({ kind: "failed", runId: run.id, productId: data.productId, reason, detail: error.message }, job);
      }
      const lastAttempt = job.attemptsMade + 1 >= deps.attempts;
      if (lastAttempt) {
        const reason = error instanceof FacetError ? `${error.code}_exhausted` : "transient_exhausted";
        return finish({ kind: "failed", runId: run.id, productId: data.productId, reason, detail: (error as Error).message }, job);
      }
      deps.logger.warn({ runId: run.id, productId: data.productId, jobId: job.id, stage: "fetch", err: error, attempt: job.attemptsMade + 1 }, "transient error; BullMQ retries");
      throw error instanceof TransientError ? error : new TransientError("transient", (error as Error).message, { cause: error });
    }
  }

  /** Run what is waiting in the batchers (a shutdown drains before closing connections). */
  async function flush(): Promise<void> {
    await Promise.all([...batchers.values()].map((b) => b.flush()));
  }

  return { process, flush };
}
