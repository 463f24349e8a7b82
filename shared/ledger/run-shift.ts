import type { Knex } from "knex";
import { SHIFT_MIN_PRODUCTS, shiftBound, shiftVerdict, type ShiftCounts, type ShiftVerdict } from "../../models/runtime/run-shift.js";
import { applyVersion, type ApplySettings } from "./apply-rules.js";
import type { LedgerContext } from "./run-ledger.js";

/**
 * The run-level shift gate in the ledger (models/runtime/run-shift.ts has the rules). Writers of
 * one run take turns on its `runs` row (lockRuns), so its counts, its verdict and the release of
 * its held results are decided once, in order, whatever the number of workers.
 */

export interface RunShiftState {
  runId: string;
  counts: ShiftCounts;
  /** The bundle's validation share; null: no gate (the bundle has no shift baseline). */
  baseline: number | null;
  /** Null when there is no gate. */
  verdict: ShiftVerdict | null;
  /** This batch found the run shifted (the results it already had were sent to review). */
  tripped: boolean;
  /** This batch took the run to SHIFT_MIN_PRODUCTS results, so it may release what it held. */
  crossed: boolean;
  /** The run's snapshot is whole (no item will be added). */
  snapshotComplete: boolean;
}

/** Lock the runs' rows until the transaction ends, in id order (no deadlock between two writers). */
export async function lockRuns(trx: Knex.Transaction, ctx: LedgerContext, runIds: readonly string[]): Promise<void> {
  await trx.withSchema(ctx.schema).table("runs").whereIn("id", [...runIds]).orderBy("id").forUpdate().select("id");
}

/**
 * Add a batch's signals to the run's counts and say where the run stands. The first time the
 * run is found shifted, every result it has not applied yet gets `unfamiliar_photo` (held ones
 * go to needs_review). `versionIds`: the versions this batch wrote for the run (a shifted run's
 * new results get the reason too).
 */
export async function tallyRunShift(
  trx: Knex.Transaction,
  ctx: LedgerContext,
  runId: string,
  batch: { products: number; unusual: number; baseline: number | null },
  versionIds: readonly number[],
): Promise<RunShiftState> {
  const [row] = await trx
    .withSchema(ctx.schema)
    .table("runs")
    .where({ id: runId })
    .update({
      shift_products: trx.raw("shift_products + ?", [batch.products]),
      shift_unusual: trx.raw("shift_unusual + ?", [batch.unusual]),
      shift_baseline: trx.raw("coalesce(shift_baseline, ?::double precision)", [batch.baseline]),
    })
    .returning(["shift_products", "shift_unusual", "shift_baseline", "shifted_at", "snapshot_complete"]);
  const counts = { products: Number(row.shift_products), unusual: Number(row.shift_unusual) };
  const baseline = row.shift_baseline === null ? null : Number(row.shift_baseline);
  const before = counts.products - batch.products;
  const state: RunShiftState = {
    runId,
    counts,
    baseline,
    verdict: baseline === null ? null : shiftVerdict(counts, baseline),
    tripped: false,
    crossed: before < SHIFT_MIN_PRODUCTS && counts.products >= SHIFT_MIN_PRODUCTS,
    snapshotComplete: Boolean(row.snapshot_complete),
  };
  if (state.verdict !== "shifted" || baseline === null) return state;
  const detail = { products: counts.products, unusual: counts.unusual, share: counts.unusual / counts.products, baseline, bound: shiftBound(baseline) };
  if (row.shifted_at === null) {
    await trx.withSchema(ctx.schema).table("runs").where({ id: runId }).update({ shifted_at: trx.fn.now() });
    await markShifted(trx, trx.withSchema(ctx.schema).table("description_versions").where({ run_id: runId }).whereIn("status", ["generated", "held"]), detail);
    state.tripped = true;
  } else if (versionIds.length > 0) {
    await markShifted(trx, trx.withSchema(ctx.schema).table("description_versions").whereIn("id", [...versionIds]), detail);
  }
  return state;
}

/** Send the versions `query` selects to review as `unfamiliar_photo`, with the run's figures in review_detail.run_shift. */
async function markShifted(trx: Knex.Transaction, query: Knex.QueryBuilder, detail: Record<string, number>): Promise<void> {
  await query.update({
    review_reasons: trx.raw(
      "case when 'unfamiliar_photo' = any(coalesce(review_reasons, '{}')) then review_reasons else array_prepend('unfamiliar_photo', coalesce(review_reasons, '{}')) end",
    ),
    review_detail: trx.raw("coalesce(review_detail, '{}'::jsonb) || jsonb_build_object('run_shift', ?::jsonb)", [JSON.stringify(detail)]),
    status: trx.raw("case when status = 'held' then 'needs_review' else status end"),
  });
}

/** Hold versions of an apply run back: not applied until the run has shown it is not shifted. */
export async function holdVersions(trx: Knex.Transaction, ctx: LedgerContext, versionIds: readonly number[]): Promise<void> {
  if (versionIds.length > 0) await trx.withSchema(ctx.schema).table("description_versions").whereIn("id", [...versionIds]).update({ status: "held" });
}

/** The run's held versions, oldest first. */
export async function heldVersionIds(trx: Knex.Transaction, ctx: LedgerContext, runId: string): Promise<number[]> {
  const rows = await trx.withSchema(ctx.schema).table("description_versions").where({ run_id: runId, status: "held" }).orderBy("id").select("id");
  return rows.map((r: { id: string | number }) => Number(r.id));
}

/** Whether every item of the run has its outcome (with a whole snapshot: nothing more will be written). */
export async function noPendingItems(trx: Knex.Transaction, ctx: LedgerContext, runId: string): Promise<boolean> {
  const pending = await trx.withSchema(ctx.schema).table("run_items").where({ run_id: runId, state: "pending" }).first(trx.raw("1 as one"));
  return pending === undefined;
}

/**
 * At a run's completion: apply what it still holds. A small run's held results are released by
 * the writer of its last outcome; this catches a run whose last outcomes were recorded elsewhere
 * (a poison pill failed by the lost-job healer, a cancelled remainder). Returns the statuses.
 */
export async function releaseHeldAtCompletion(ctx: LedgerContext, runId: string, apply: ApplySettings): Promise<Record<string, number>> {
  return ctx.db.transaction(async (trx) => {
    await lockRuns(trx, ctx, [runId]);
    const statuses: Record<string, number> = {};
    for (const id of await heldVersionIds(trx, ctx, runId)) {
      const status = await applyVersion(trx, ctx, id, apply);
      statuses[status] = (statuses[status] ?? 0) + 1;
    }
    return statuses;
  });
}
