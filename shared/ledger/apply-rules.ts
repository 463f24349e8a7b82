import type { Knex } from "knex";
import type { LedgerContext } from "./run-ledger.js";

/**
 * The apply rules, shared by workers (apply runs as they go), `facet run apply` (a shadow run
 * later) and rollback (through the same setter).
 */
export interface ApplySettings {
  /** `CATALOGUE_APPLY_FUNCTION`: `(product_id text, description text) returns boolean`. */
  applyFunction: string;
  /**
   * Versions written before review reasons were recorded (review_reasons null) go to needs_review
   * below this smallest confidence over `reviewAttributes`; newer ones carry the worker's decision.
   */
  reviewThreshold: number;
  /** Attributes whose confidence gates apply (REVIEW_ATTRIBUTES). Default: all. */
  reviewAttributes?: readonly string[];
}

/**
 * Make a generated version the product's description, unless the artisan locked the text, or
 * edited it after Facet last applied one, or the version needs a person (its review reasons:
 * unfamiliar photos, low confidence, a contradiction of the seller). Returns the version's status.
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
  else if (v.review_reasons ? v.review_reasons.length > 0 : v.min_confidence < apply.reviewThreshold) status = "needs_review";
  else {
    status = (await makeCurrent(trx, ctx, apply.applyFunction, { id: v.id, run_id: v.run_id, product_id: v.product_id }, v.description, product.description, current)) ? "applied" : "product_gone";
  }
  if (status !== "product_gone") await trx.withSchema(ctx.schema).table("description_versions").where({ id: versionId }).update({ status });
  return status;
}

/** What current_descriptions holds for a product Facet has applied a text to. */
export interface CurrentDescription {
  version_id: number;
  previous_description: string | null;
  artisan_description: string | null;
}

/**
 * Apply `text` (a version's, or a reviewer's edit of it) to the product through the apply
 * function and make `version` its current description, remembering the text it replaced and
 * the artisan's own words. False when the product is gone (nothing recorded).
 */
export async function makeCurrent(
  trx: Knex.Transaction,
  ctx: LedgerContext,
  applyFunction: string,
  version: { id: number; run_id: string; product_id: string },
  text: string,
  shownText: string | null,
  current: CurrentDescription | undefined,
): Promise<boolean> {
  if (!(await callApplyFunction(trx, applyFunction, version.product_id, text))) return false;
  await trx
    .withSchema(ctx.schema)
    .table("current_descriptions")
    .insert({
      product_id: version.product_id,
      version_id: version.id,
      run_id: version.run_id,
      description: text,
      applied_at: trx.fn.now(),
      previous_description: shownText,
      previous_version_id: current?.version_id ?? null,
      // The artisan's own words, kept across Facet's later applies: seller facts are read from them.
      artisan_description: current ? (current.artisan_description ?? current.previous_description) : shownText,
    })
    .onConflict("product_id")
    .merge();
  return true;
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
