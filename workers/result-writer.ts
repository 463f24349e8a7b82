import type { Knex } from "knex";
import type { LedgerContext } from "../shared/ledger/run-ledger.js";
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
    }
  | { kind: "failed" | "skipped"; runId: string; productId: string; reason: string; detail?: string };

export interface ApplySettings {
  /** `CATALOGUE_APPLY_FUNCTION`: `(product_id text, description text) returns boolean`. */
  applyFunction: string;
  /** Below this smallest confidence (over `reviewAttributes`) a result goes to needs_review instead. */
  reviewThreshold: number;
  /** Attributes whose confidence gates apply (REVIEW_ATTRIBUTES). Default: all. */
  reviewAttributes?: readonly string[];
}

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
  await ctx.db.transaction(async (trx) => {
    for (const o of outcomes) {
      if (o.kind !== "done") {
        const moved = await trx
          .withSchema(ctx.schema)
          .table("run_items")
          .where({ run_id: o.runId, product_id: o.productId, state: "pending" })
          .update({ state: o.kind, reason: o.reason, detail: o.detail ?? null, updated_at: trx.fn.now() });
        count(moved ? o.kind : "already_finished");
        continue;
      }
      const gated = Object.entries(o.attributes).filter(([name]) => !apply.reviewAttributes || apply.reviewAttributes.includes(name));
      const minConfidence = Math.min(...gated.map(([, a]) => a.confidence));
      const [version] = await trx
        .withSchema(ctx.schema)
        .table("description_versions")
        .insert({
          run_id: o.runId,
          product_id: o.productId,
          model_name: o.modelName,
          model_version: o.modelVersion,
          input_hash: o.inputHash,
          description: o.description,
          attributes: o.attributes,
          min_confidence: minConfidence,
        })
        .onConflict(["run_id", "product_id"])
        .ignore()
        .returning("id");
      const moved = await trx
        .withSchema(ctx.schema)
        .table("run_items")
        .where({ run_id: o.runId, product_id: o.productId, state: "pending" })
        .update({ state: "done", reason: null, updated_at: trx.fn.now() });
      if (!version || !moved) {
        count("already_finished");
        continue;
      }
      count(o.mode === "apply" ? await applyVersion(trx, ctx, Number(version.id), apply) : "generated");
    }
  });
  return summary;
}

/**
 * Make a generated version the product's description, unless the artisan locked the text, or
 * edited it after Facet last applied one, or the model was unsure. Returns the version's status.
 * Used by apply runs as they go and by `facet run apply` for a shadow run.
 */
export async function applyVersion(trx: Knex.Transaction, ctx: LedgerContext, versionId: number, apply: ApplySettings): Promise<string> {
  const v = await trx.withSchema(ctx.schema).table("description_versions").where({ id: versionId }).first();
  const product = await trx.from(ctx.catalogue).where({ product_id: v.product_id }).first("description", "locked", "description_edited_at");
  const current = await trx.withSchema(ctx.schema).table("current_descriptions").where({ product_id: v.product_id }).first();
  let status: string;
  if (!product) status = "product_gone";
  else if (product.locked) status = "kept_locked";
  else if (current && product.description_edited_at && product.description_edited_at > current.applied_at) status = "kept_edited";
  else if (v.min_confidence < apply.reviewThreshold) status = "needs_review";
  else {
    status = (await callApplyFunction(trx, apply.applyFunction, v.product_id, v.description)) ? "applied" : "product_gone";
    if (status === "applied") {
      await trx
        .withSchema(ctx.schema)
        .table("current_descriptions")
        .insert({
          product_id: v.product_id,
          version_id: v.id,
          run_id: v.run_id,
          description: v.description,
          applied_at: trx.fn.now(),
          previous_description: product.description,
          previous_version_id: current?.version_id ?? null,
        })
        .onConflict("product_id")
        .merge();
    }
  }
  if (status !== "product_gone") await trx.withSchema(ctx.schema).table("description_versions").where({ id: versionId }).update({ status });
  return status;
}

/**
 * Set a product's description through the marketplace's `CATALOGUE_APPLY_FUNCTION`
 * (apply, and rollback restoring the previous text). False when the product is gone.
 */
export async function callApplyFunction(db: Knex, applyFunction: string, productId: string, description: string | null): Promise<boolean> {
  const { rows } = await db.raw(`select ${qualified(applyFunction)}(?, ?) as ok`, [productId, description]);
  return Boolean(rows[0]?.ok);
}

/** A `[schema.]function` name from config, checked to be plain identifiers before it is quoted into SQL. */
function qualified(name: string): string {
  if (!/^([a-z_][a-z0-9_]*\.)?[a-z_][a-z0-9_]*$/.test(name)) throw new Error(`not a plain [schema.]function name: ${name}`);
  return name
    .split(".")
    .map((part) => `"${part}"`)
    .join(".");
}
