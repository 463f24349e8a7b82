import { ConflictError } from "../errors/index.js";
import { getRun, requeueLost, type LedgerContext } from "./run-ledger.js";
import { runRowSchema, type Run } from "./run.js";

/** What `retryFailed` did. */
export interface RetryFailedSummary {
  run: Run;
  /** Failed items moved back to pending. */
  retried: number;
  /** Whether a completed run was set running again. */
  reopened: boolean;
}

/**
 * `facet run retry-failed`: gives a run's failed items another go (after the cause is fixed:
 * photos re-uploaded, the store reachable again). In one transaction, with the run row
 * locked so a feeder completing it or a cancel can't interleave: failed items go back to
 * `pending` (reason cleared, `attempts` + 1), a completed run becomes `running` again, and
 * the enqueue cursor is reset (`requeueLost`) so the producer hands the items to the queue
 * again. Their old jobs left Redis when they finished, so the same job ids are free.
 *
 * A cancelled run is refused: cancelling is final. A paused run keeps its state; its items
 * are fed when it is resumed. Nothing failed: nothing changes.
 */
export async function retryFailed(ledger: LedgerContext, runId: string): Promise<RetryFailedSummary> {
  await getRun(ledger, runId); // an unknown id is a NotFoundError naming it
  return ledger.db.transaction(async (trx) => {
    const tx: LedgerContext = { ...ledger, db: trx };
    const runs = () => trx.withSchema(ledger.schema).table("runs").where({ id: runId });
    const run = runRowSchema.parse(await runs().forUpdate().first());
    if (run.state === "cancelled") throw new ConflictError(`run ${runId} is cancelled; a cancelled run's items cannot be retried (start a new run)`);
    const retried = await trx
      .withSchema(ledger.schema)
      .table("run_items")
      .where({ run_id: runId, state: "failed" })
      .update({ state: "pending", reason: null, detail: null, attempts: trx.raw("attempts + 1"), updated_at: trx.fn.now() });
    if (retried === 0) return { run, retried, reopened: false };
    const reopened = run.state === "completed";
    if (reopened) {
      // Not a transition a person makes with pause/resume (RUN_TRANSITIONS has none out of
      // completed): only new pending items reopen a run, and the feeder completes it again.
      await runs().update({ state: "running", finished_at: null, updated_at: trx.fn.now() });
    }
    await requeueLost(tx, runId);
    return { run: await getRun(tx, runId), retried, reopened };
  });
}
