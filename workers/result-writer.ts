import type { LedgerContext } from "../shared/ledger/run-ledger.js";
import { applyVersion, type ApplySettings } from "../shared/ledger/apply-rules.js";

export type { ApplySettings };
import type { RunMode } from "../shared/ledger/run.js";

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
    }
  | { kind: "failed" | "skipped"; runId: string; productId: string; reason: string; detail?: string };


/** What the writer did, per status, for logs and metrics. */
export type WriteSummary = Record<string, number>;

/**
 * Write a batch's outcomes in one transaction. Idempotent on (run, product): a version is
 * inserted once, and an item only moves out of `pending`, so a batch written twice (a job
 * redelivered after a worker was killed) changes nothing the second time.
 */
export async function writeOutcomes(ctx: LedgerContext, outcomes: readonly ItemOutcome[], apply: ApplySettings): Promise<WriteSummary> {
  const summary: WriteSummary = {};
  const count = (key: string) => (summary[key] = (summary[key] ?? 0) + 1);
  const key = (runId: string, productId: string) => `${runId}\u0000${productId}`;
  await ctx.db.transaction(async (trx) => {
    for (const o of outcomes) {
      if (o.kind === "done") continue;
      const moved = await trx
        .withSchema(ctx.schema)
        .table("run_items")
        .where({ run_id: o.runId, product_id: o.productId, state: "pending" })
        .update({ state: o.kind, reason: o.reason, detail: o.detail ?? null, updated_at: trx.fn.now() });
      count(moved ? o.kind : "already_finished");
    }
    const done = outcomes.filter((o): o is Extract<ItemOutcome, { kind: "done" }> => o.kind === "done");
    if (done.length === 0) return;
    // Two statements for the whole batch, whatever its size: the model waits for this write.
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
    for (const o of done) {
      const id = versionIds.get(key(o.runId, o.productId));
      if (id === undefined || !movedKeys.has(key(o.runId, o.productId))) count("already_finished");
      else count(o.mode === "apply" ? await applyVersion(trx, ctx, id, apply) : "generated");
    }
  });
  return summary;
}
