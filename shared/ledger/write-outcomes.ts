import type { Knex } from "knex";
import type { LedgerContext } from "./run-ledger.js";
import { applyVersion, type ApplySettings } from "./apply-rules.js";
import { heldVersionIds, holdVersions, lockRuns, noPendingItems, tallyRunShift } from "./run-shift.js";
import type { ItemReason } from "../errors/index.js";
import type { RunMode } from "./run.js";
import type { ShiftSignal } from "../../models/runtime/run-shift.js";

export type { ApplySettings };

/** What happened to one item of a run, as the worker hands it to the writer. */
export type ItemOutcome =
  | {
      kind: "done";
      runId: string;
      productId: string;
      mode: RunMode;
      modelName: string;
      modelVersion: string;
      /** sha256 over the product's photo bytes: the same photos give the same hash. */
      inputHash: string;
      description: string;
      attributes: Record<string, { label: string; confidence: number }>;
      /** The worker's review decision: reasons to send it to a person (empty: it may be applied), and what the seller said where it contradicts them. */
      review: { reasons: readonly string[]; contradictions?: ReadonlyArray<{ attribute: string; predicted: string; seller: string[] }> };
      /** The photos' familiarity (null: the bundle has none). */
      familiarity: number | null;
      /** The run-level shift signal (models/runtime/run-shift.ts); absent or null: the bundle has no shift baseline. */
      shift?: ShiftSignal | null;
    }
  | { kind: "failed" | "skipped"; runId: string; productId: string; reason: ItemReason; detail?: string };

/** What the writer did, per status, for logs and metrics. */
export type WriteSummary = Record<string, number>;

/**
 * Write a batch's outcomes in one transaction. Idempotent on (run, product): a version is
 * inserted once, and an item only moves out of `pending`, so a batch written twice (a job
 * redelivered after a worker was killed) changes nothing the second time.
 *
 * Each run's row is locked first, so writers of one run take turns on its shift gate
 * (shared/ledger/run-shift.ts): a shifted run's results go to review as `unfamiliar_photo`, and
 * an apply run holds its results back until it has shown it is not shifted.
 */
export async function writeOutcomes(ctx: LedgerContext, outcomes: readonly ItemOutcome[], apply: ApplySettings): Promise<WriteSummary> {
  const summary: WriteSummary = {};
  const count = (key: string, n = 1) => {
    if (n > 0) summary[key] = (summary[key] ?? 0) + n;
  };
  const runIds = [...new Set(outcomes.map((o) => o.runId))];
  await ctx.db.transaction(async (trx) => {
    await lockRuns(trx, ctx, runIds);
    for (const o of outcomes) {
      if (o.kind === "done") continue;
      const moved = await trx
        .withSchema(ctx.schema)
        .table("run_items")
        .where({ run_id: o.runId, product_id: o.productId, state: "pending" })
        .update({ state: o.kind, reason: o.reason, detail: o.detail ?? null, updated_at: trx.fn.now() });
      count(moved ? o.kind : "already_finished");
    }
    const written = await writeVersions(trx, ctx, outcomes.filter((o): o is DoneOutcome => o.kind === "done"), apply);
    count("already_finished", written.duplicates);
    for (const runId of runIds) {
      const mine = written.fresh.filter((w) => w.outcome.runId === runId);
      const signals = mine.flatMap((w) => (w.outcome.shift ? [w.outcome.shift] : []));
      const shift = await tallyRunShift(
        trx,
        ctx,
        runId,
        { products: signals.length, unusual: signals.filter((s) => s.unusual).length, baseline: signals[0]?.baseline ?? null },
        mine.map((w) => w.id),
      );
      if (shift.tripped) count("run_shifted");
      const applying = mine.filter((w) => w.outcome.mode === "apply");
      count("generated", mine.length - applying.length);
      // Held results go once the run has shown it is not shifted, or when nothing more will come.
      const releasing = (shift.verdict === "familiar" && shift.crossed) || (shift.verdict === "gathering" && shift.snapshotComplete && (await noPendingItems(trx, ctx, runId)));
      if (shift.verdict === "gathering" && !releasing) {
        await holdVersions(trx, ctx, applying.map((w) => w.id));
        count("held", applying.length);
      } else {
        const ids = [...(releasing ? await heldVersionIds(trx, ctx, runId) : []), ...applying.map((w) => w.id)];
        for (const id of ids) count(await applyVersion(trx, ctx, id, apply));
      }
    }
  });
  return summary;
}

type DoneOutcome = Extract<ItemOutcome, { kind: "done" }>;

/**
 * Insert a batch's versions and move their items to `done`: two statements for the whole batch,
 * whatever its size (the model waits for this write). `fresh`: the outcomes written now, with
 * their version ids; `duplicates`: those another delivery already wrote.
 */
async function writeVersions(
  trx: Knex.Transaction,
  ctx: LedgerContext,
  done: readonly DoneOutcome[],
  apply: ApplySettings,
): Promise<{ fresh: Array<{ outcome: DoneOutcome; id: number }>; duplicates: number }> {
  if (done.length === 0) return { fresh: [], duplicates: 0 };
  const key = (runId: string, productId: string) => `${runId}\u0000${productId}`;
  const inserted = await trx
    .withSchema(ctx.schema)
    .table("description_versions")
    .insert(
      done.map((o) => {
        const gated = Object.entries(o.attributes).filter(([name]) => !apply.reviewAttributes || apply.reviewAttributes.includes(name));
        return {
          run_id: o.runId,
          product_id: o.productId,
          model_name: o.modelName,
          model_version: o.modelVersion,
          input_hash: o.inputHash,
          description: o.description,
          attributes: o.attributes,
          min_confidence: Math.min(...gated.map(([, a]) => a.confidence)),
          review_reasons: [...o.review.reasons],
          review_detail: o.review.contradictions?.length ? JSON.stringify({ contradictions: o.review.contradictions }) : null,
          familiarity: o.familiarity,
        };
      }),
    )
    .onConflict(["run_id", "product_id"])
    .ignore()
    .returning(["id", "run_id", "product_id"]);
  const moved = await trx
    .withSchema(ctx.schema)
    .table("run_items")
    .whereIn(["run_id", "product_id"], done.map((o) => [o.runId, o.productId]))
    .where({ state: "pending" })
    .update({ state: "done", reason: null, updated_at: trx.fn.now() })
    .returning(["run_id", "product_id"]);
  const versionIds = new Map(inserted.map((r: { id: string | number; run_id: string; product_id: string }) => [key(r.run_id, r.product_id), Number(r.id)]));
  const movedKeys = new Set(moved.map((r: { run_id: string; product_id: string }) => key(r.run_id, r.product_id)));
  const fresh = done.flatMap((outcome) => {
    const id = versionIds.get(key(outcome.runId, outcome.productId));
    return id !== undefined && movedKeys.has(key(outcome.runId, outcome.productId)) ? [{ outcome, id }] : [];
  });
  return { fresh, duplicates: done.length - fresh.length };
}
