import type { Logger } from "../shared/logging/logger.js";
import type { LedgerContext } from "../shared/ledger/run-ledger.js";
import type { Run } from "../shared/ledger/run.js";
import { writeOutcomes, type ApplySettings, type ItemOutcome } from "../shared/ledger/write-outcomes.js";
import type { Stage, WorkerMetrics } from "../shared/metrics/metrics.js";
import type { PreparedProduct, ProductDescription } from "../models/runtime/describer.js";
import type { InferenceEngine } from "../models/runtime/inference-engine.js";
import type { SellerInput } from "../models/review/seller-facts.js";
import { withSellerFacts } from "../models/review/seller-review.js";
import { MicroBatcher } from "./micro-batcher.js";

/** Runs one batch through a model version's engine; the lease is held only while it runs. */
export type WithEngine = <T>(version: string, fn: (engine: InferenceEngine) => Promise<T>) => Promise<T>;

export interface BatchPipelineDeps {
  ledger: LedgerContext;
  apply: ApplySettings;
  withEngine: WithEngine;
  logger: Logger;
  /** BATCH_SIZE and BATCH_MAX_WAIT_MS. */
  batchSize: number;
  batchMaxWaitMs: number;
  metrics?: WorkerMetrics;
}

/** One prepared product of one run, waiting for its model call. */
export interface BatchItem {
  run: Run;
  product: PreparedProduct;
  /** sha256 over the product's photo bytes. */
  inputHash: string;
  seller: SellerInput;
}

export interface BatchPipeline {
  /**
   * Describe `item` with its run's model version, in a micro-batch with other products of that
   * version, and write the batch's results in one transaction. Resolves with the item's outcome
   * once written; rejects when the model call or the write fails (every item of the batch).
   * `alone`: start a batch of this item only (a suspect that crashed a worker before).
   */
  submit(item: BatchItem, options?: { alone?: boolean }): Promise<ItemOutcome>;
  /** Run and write what is waiting (a shutdown drains before closing connections). */
  flush(): Promise<void>;
}

/** Time `fn` as one observation of `stage`. */
export async function timed<T>(metrics: WorkerMetrics | undefined, stage: Stage, fn: () => Promise<T>): Promise<T> {
  const started = performance.now();
  try {
    return await fn();
  } finally {
    metrics?.stage.observe({ stage }, (performance.now() - started) / 1000);
  }
}

/** A product's description as the ledger's outcome for its item. */
function doneOutcome(item: BatchItem, described: ProductDescription): ItemOutcome {
  const r = withSellerFacts(described, item.seller);
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
}

/** The worker's second half: micro-batches per model version, inference, the batch's write. */
export function createBatchPipeline(deps: BatchPipelineDeps): BatchPipeline {
  const { metrics } = deps;
  const batchers = new Map<string, Promise<MicroBatcher<BatchItem, ItemOutcome>>>();

  async function runBatch(version: string, items: BatchItem[]): Promise<ItemOutcome[]> {
    const described = await deps.withEngine(version, async (engine) => {
      const busyBefore = engine.busySeconds();
      const results = await timed(metrics, "inference", () => engine.infer(items.map((i) => i.product)));
      metrics?.inferenceBusy.inc(Math.max(0, engine.busySeconds() - busyBefore));
      return results;
    });
    const outcomes = described.map((d, i) => doneOutcome(items[i] as BatchItem, d));
    const written = await timed(metrics, "write", () => writeOutcomes(deps.ledger, outcomes, deps.apply));
    if (written.run_shifted) {
      deps.logger.warn(
        { runIds: [...new Set(outcomes.map((o) => o.runId))] },
        "run shifted: its photos as a whole are unlike the bundle's training photos, so every result of it goes to review (unfamiliar_photo)",
      );
    }
    for (const o of outcomes) metrics?.processed.inc({ run_id: o.runId, outcome: "done", reason: "" });
    return outcomes;
  }

  async function createBatcher(version: string): Promise<MicroBatcher<BatchItem, ItemOutcome>> {
    // One batch per inference thread, plus one whose results are being written meanwhile. While
    // every thread has a batch, the next one fills (up to BATCH_SIZE or BATCH_MAX_WAIT_MS) instead
    // of leaving with whatever came: bench:pipeline's batches averaged 7 products that way, each
    // batch paying its model calls and its six ledger statements.
    const parallelism = await deps.withEngine(version, async (engine) => engine.parallelism);
    return new MicroBatcher<BatchItem, ItemOutcome>({
      maxSize: deps.batchSize,
      maxWaitMs: deps.batchMaxWaitMs,
      maxInFlight: parallelism + 1,
      partialBelow: parallelism,
      onBatch: (size, waitedMs) => {
        metrics?.batchSize.observe(size);
        for (const ms of waitedMs) metrics?.stage.observe({ stage: "batch_wait" }, ms / 1000);
      },
      run: (items) => runBatch(version, items),
    });
  }

  function batcherFor(version: string): Promise<MicroBatcher<BatchItem, ItemOutcome>> {
    let batcher = batchers.get(version);
    if (!batcher) {
      batcher = createBatcher(version);
      batchers.set(version, batcher);
      // A version that failed to load is not kept: the next item tries again.
      batcher.catch(() => {
        if (batchers.get(version) === batcher) batchers.delete(version);
      });
    }
    return batcher;
  }

  return {
    async submit(item, options = {}) {
      return (await batcherFor(item.run.model_version)).submit(item, { now: options.alone ?? false });
    },
    async flush() {
      const settled = await Promise.allSettled(batchers.values());
      await Promise.all(settled.flatMap((s) => (s.status === "fulfilled" ? [s.value.flush()] : [])));
    },
  };
}
