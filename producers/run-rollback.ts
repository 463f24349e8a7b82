import { ConflictError } from "../shared/errors/index.js";
import { getRun, type LedgerContext } from "../shared/ledger/run-ledger.js";
import { rollbackChunk, type RollbackOutcome } from "../shared/ledger/rollback-chunk.js";

export interface RollbackRunOptions {
  ledger: LedgerContext;
  /** `CATALOGUE_APPLY_FUNCTION`: rollback writes the previous text through it, as apply does. */
  applyFunction: string;
  /** Products per transaction. Default 500, for the same reasons as `facet run apply`'s chunks. */
  chunkSize?: number;
  /** Called after each committed chunk with the totals so far. */
  onChunk?: (summary: RollbackRunSummary) => void;
}

export interface RollbackRunSummary {
  runId: string;
  /** Products whose current description this run applied, looked at. */
  processed: number;
  outcomes: Partial<Record<RollbackOutcome, number>>;
}

/**
 * `facet run rollback`: for each product whose current description this run applied,
 * restore the text it replaced (through the apply function), point current_descriptions
 * back at the version before (or drop the row when Facet had applied none), and mark the
 * run's version `rolled_back`. Text the artisan edited or locked since is left alone.
 *
 * One transaction per chunk, rows locked `for update` and re-checked, so rollback is
 * idempotent and resumable: a rolled-back product no longer belongs to the run in
 * current_descriptions, and a second rollback (or one after a crash) finds only what is
 * left. Refuses an apply run still in flight: its workers would keep applying behind it.
 */
export async function rollbackRun(options: RollbackRunOptions, runId: string): Promise<RollbackRunSummary> {
  const { ledger } = options;
  const chunkSize = options.chunkSize ?? 500;
  const run = await getRun(ledger, runId);
  if (run.mode === "apply" && run.state !== "completed" && run.state !== "cancelled") {
    throw new ConflictError(`run ${runId} is an apply run still ${run.state} and would keep applying; cancel it first (facet run cancel ${runId})`);
  }
  const summary: RollbackRunSummary = { runId, processed: 0, outcomes: {} };
  let cursor = "";
  for (;;) {
    const decided = await rollbackChunk(ledger, options.applyFunction, runId, cursor, chunkSize);
    if (decided.length === 0) return summary;
    for (const { outcome } of decided) summary.outcomes[outcome] = (summary.outcomes[outcome] ?? 0) + 1;
    cursor = (decided.at(-1) as { productId: string }).productId;
    summary.processed += decided.length;
    options.onChunk?.({ ...summary, outcomes: { ...summary.outcomes } });
  }
}
