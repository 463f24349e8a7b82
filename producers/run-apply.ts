import { ConflictError } from "../shared/errors/index.js";
import { getRun, type LedgerContext } from "../shared/ledger/run-ledger.js";
import type { ApplySettings } from "../shared/ledger/apply-rules.js";
import { applyGeneratedChunk } from "../shared/ledger/apply-generated.js";

export interface ApplyRunOptions {
  ledger: LedgerContext;
  /** The same settings apply-mode workers use (CATALOGUE_APPLY_FUNCTION, REVIEW_THRESHOLD). */
  apply: ApplySettings;
  /**
   * Versions per transaction. Default 500: a chunk holds its versions' row locks and the
   * catalogue writes until it commits, so it stays short, and an interrupted apply loses at
   * most one chunk's work (the next call picks it up again).
   */
  chunkSize?: number;
  /** Called after each committed chunk with the totals so far (progress for the CLI). */
  onChunk?: (summary: ApplyRunSummary) => void;
}

/** What `applyShadowRun` did: versions it looked at, by the status each ended with. */
export interface ApplyRunSummary {
  runId: string;
  /** Versions taken from `generated` (including `product_gone`, which stay `generated`). */
  processed: number;
  /** applied | kept_locked | kept_edited | needs_review | product_gone → count. */
  statuses: Record<string, number>;
}

/**
 * `facet run apply`: applies a shadow run's generated descriptions under the rules of apply
 * mode (`applyVersion`: locked → kept_locked, edited after Facet's last apply → kept_edited,
 * unsure → needs_review, else applied), one transaction per chunk.
 *
 * Only versions still `generated` are taken, locked `for update` and re-checked, so the
 * call is idempotent and resumable: a second call (or one after a crash) skips everything
 * already decided, and two calls at once never apply a version twice. A version whose
 * product is gone stays `generated`: the keyset cursor (version id) moves past it, and a
 * later call tries it again in case the product came back.
 */
export async function applyShadowRun(options: ApplyRunOptions, runId: string): Promise<ApplyRunSummary> {
  const { ledger, apply } = options;
  const chunkSize = options.chunkSize ?? 500;
  const run = await getRun(ledger, runId);
  if (run.mode !== "shadow") {
    throw new ConflictError(`run ${runId} is an apply run: its versions were applied as they were written; only a shadow run can be applied`);
  }
  const summary: ApplyRunSummary = { runId, processed: 0, statuses: {} };
  let cursor = 0;
  for (;;) {
    const taken = await applyGeneratedChunk(ledger, apply, runId, cursor, chunkSize);
    if (taken.length === 0) return summary;
    // Counted once committed: a chunk that fails counts nothing, and the error propagates.
    for (const { status } of taken) summary.statuses[status] = (summary.statuses[status] ?? 0) + 1;
    cursor = (taken.at(-1) as { id: number }).id;
    summary.processed += taken.length;
    options.onChunk?.({ ...summary, statuses: { ...summary.statuses } });
  }
}
