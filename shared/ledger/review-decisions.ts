import { z } from "zod";
import { ConflictError, NotFoundError } from "../errors/index.js";
import { makeCurrent, type CurrentDescription } from "./apply-rules.js";
import { recordAudit, type Actor } from "./audit-log.js";
import type { LedgerContext } from "./run-ledger.js";

/**
 * The review queue (issue 11): versions the pipeline would not apply by itself
 * (`needs_review`: unfamiliar photos, low confidence, a contradiction of the seller), and a
 * person's decision on each, recorded with who and when in `review_decisions` and the audit
 * log, in the transaction that applies it.
 */

export type ReviewDecisionKind = "approve" | "edit" | "reject";

/** One version waiting for a person, with what they need to decide. */
export interface ReviewItem {
  versionId: number;
  runId: string;
  productId: string;
  /** The generated text. */
  description: string;
  attributes: Record<string, { label: string; confidence: number; stated?: boolean }>;
  minConfidence: number;
  reasons: string[];
  /** With contradicts_seller: which attribute disagrees with the seller. */
  detail: unknown;
  familiarity: number | null;
  createdAt: Date;
  /** What the product shows now. */
  currentText: string | null;
  /** What the artisan wrote (their own words, even after Facet applied a text). */
  artisanText: string | null;
  category: string | null;
  photoKeys: string[];
}

export interface ReviewFilter {
  runId?: string;
  /** Only versions with this review reason. */
  reason?: string;
  /** Only versions whose smallest gated confidence is at most this. */
  maxConfidence?: number;
  limit?: number;
  /** Page after this version id (the queue is in id order). */
  afterId?: number;
  /** Only this version (while it waits for review). */
  versionId?: number;
}

const itemRow = z.object({
  id: z.coerce.number().int(),
  run_id: z.string(),
  product_id: z.string(),
  description: z.string(),
  attributes: z.record(z.string(), z.object({ label: z.string(), confidence: z.number(), stated: z.boolean().optional() }).loose()),
  min_confidence: z.number(),
  review_reasons: z.array(z.string()).nullable(),
  review_detail: z.unknown(),
  familiarity: z.number().nullable(),
  created_at: z.date(),
  current_text: z.string().nullable(),
  artisan_text: z.string().nullable(),
  category: z.string().nullable(),
  photo_keys: z.array(z.string()).nullable(),
});

/** Versions waiting for review, oldest first, narrowed by `filter`. */
export async function listReviewQueue(ctx: LedgerContext, filter: ReviewFilter = {}): Promise<ReviewItem[]> {
  const q = ctx.db
    .from(`${ctx.schema}.description_versions as v`)
    .join(`${ctx.catalogue} as c`, "c.product_id", "v.product_id")
    .leftJoin(`${ctx.schema}.current_descriptions as cur`, "cur.product_id", "v.product_id")
    .where("v.status", "needs_review")
    .orderBy("v.id")
    .limit(filter.limit ?? 50)
    .select(
      "v.id", "v.run_id", "v.product_id", "v.description", "v.attributes", "v.min_confidence", "v.review_reasons", "v.review_detail", "v.familiarity", "v.created_at",
      { current_text: "c.description", category: "c.category", photo_keys: "c.photo_keys" },
      ctx.db.raw("coalesce(cur.artisan_description, cur.previous_description, c.description) as artisan_text"),
    );
  if (filter.runId !== undefined) q.where("v.run_id", filter.runId);
  if (filter.reason !== undefined) q.whereRaw("? = any(v.review_reasons)", [filter.reason]);
  if (filter.maxConfidence !== undefined) q.where("v.min_confidence", "<=", filter.maxConfidence);
  if (filter.afterId !== undefined) q.where("v.id", ">", filter.afterId);
  if (filter.versionId !== undefined) q.where("v.id", filter.versionId);
  const rows: unknown[] = await q;
  return rows.map((row) => {
    const r = itemRow.parse(row);
    return {
      versionId: r.id, runId: r.run_id, productId: r.product_id, description: r.description, attributes: r.attributes, minConfidence: r.min_confidence,
      reasons: r.review_reasons ?? [], detail: r.review_detail, familiarity: r.familiarity, createdAt: r.created_at,
      currentText: r.current_text, artisanText: r.artisan_text, category: r.category, photoKeys: r.photo_keys ?? [],
    };
  });
}

/** The artisan changed the product's text after this version was generated: approving would overwrite their words. */
export class TextChangedError extends ConflictError {
  constructor(
    readonly productId: string,
    readonly currentText: string | null,
  ) {
    super(`product ${productId}'s text was changed by its artisan after this version was generated; it now reads: ${JSON.stringify(currentText)}`);
  }
}

export interface ReviewDecisionInput {
  versionId: number;
  decision: ReviewDecisionKind;
  /** edit: the text to apply instead of the generated one. */
  text?: string;
  /** edit: corrected attributes, label by attribute (training labels for the next model). */
  attributes?: Record<string, string>;
  actor: Actor;
}

export interface ReviewDecisionResult {
  versionId: number;
  productId: string;
  status: "applied" | "rejected";
  /** The text the product shows now. */
  text: string | null;
}

/**
 * Decide one version in review, in one transaction: approve (its text applied), edit (the
 * given text applied) or reject (nothing applied); the decision and an audit entry are
 * recorded with it. NotFoundError for an unknown version or a product gone; ConflictError for
 * a version no longer in review or a locked product; TextChangedError when the artisan edited
 * the text after the version was generated.
 */
export async function decideReview(ctx: LedgerContext, applyFunction: string, input: ReviewDecisionInput): Promise<ReviewDecisionResult> {
  return ctx.db.transaction(async (trx) => {
    const v = await trx.withSchema(ctx.schema).table("description_versions").where({ id: input.versionId }).forUpdate().first("id", "run_id", "product_id", "description", "status", "created_at");
    if (!v) throw new NotFoundError(`no description version ${input.versionId}`);
    if (v.status !== "needs_review") throw new ConflictError(`version ${input.versionId} of product ${v.product_id} is ${v.status}, not waiting for review`);
    const product = await trx.from(ctx.catalogue).where({ product_id: v.product_id }).first("description", "locked", "description_edited_at");
    if (!product) throw new NotFoundError(`product ${v.product_id} is no longer in the catalogue`);
    if (product.locked) throw new ConflictError(`product ${v.product_id}'s text is locked by its artisan`);
    if (product.description_edited_at && product.description_edited_at > v.created_at) throw new TextChangedError(v.product_id, product.description);
    let status: ReviewDecisionResult["status"] = "rejected";
    let text: string | null = product.description;
    if (input.decision !== "reject") {
      const applied = input.decision === "edit" ? (input.text as string) : (v.description as string);
      const current: CurrentDescription | undefined = await trx.withSchema(ctx.schema).table("current_descriptions").where({ product_id: v.product_id }).first();
      if (!(await makeCurrent(trx, ctx, applyFunction, { id: Number(v.id), run_id: v.run_id, product_id: v.product_id }, applied, product.description, current))) {
        throw new NotFoundError(`product ${v.product_id} is no longer in the catalogue`);
      }
      status = "applied";
      text = applied;
    }
    await trx.withSchema(ctx.schema).table("description_versions").where({ id: v.id }).update({ status });
    await trx.withSchema(ctx.schema).table("review_decisions").insert({
      version_id: v.id,
      product_id: v.product_id,
      decision: input.decision,
      text: status === "applied" ? text : null,
      attributes: JSON.stringify(input.attributes ?? {}),
      actor_token_id: input.actor.tokenId,
      actor_name: input.actor.name,
    });
    await recordAudit(ctx, { actor: input.actor, action: `review.${input.decision}`, subject: v.product_id, detail: { version_id: Number(v.id), run_id: v.run_id, ...(input.decision === "edit" ? { text, attributes: input.attributes ?? {} } : {}) } }, trx);
    return { versionId: Number(v.id), productId: v.product_id, status, text };
  });
}

/**
 * Approve every version in review that `filter` matches (at most `limit`), each in its own
 * transaction as `decideReview`: one that cannot be approved (the artisan changed the text
 * meanwhile, the product is gone or locked) is reported and the rest go on.
 */
export async function approveMatching(
  ctx: LedgerContext,
  applyFunction: string,
  filter: Omit<ReviewFilter, "limit" | "afterId">,
  actor: Actor,
  limit: number,
): Promise<{ approved: number; refused: Array<{ versionId: number; productId: string; reason: string }> }> {
  const refused: Array<{ versionId: number; productId: string; reason: string }> = [];
  let approved = 0;
  let afterId = 0;
  while (approved + refused.length < limit) {
    const page = await listReviewQueue(ctx, { ...filter, afterId, limit: Math.min(200, limit - approved - refused.length) });
    if (page.length === 0) break;
    for (const item of page) {
      afterId = item.versionId;
      try {
        await decideReview(ctx, applyFunction, { versionId: item.versionId, decision: "approve", actor });
        approved += 1;
      } catch (error) {
        if (!(error instanceof ConflictError || error instanceof NotFoundError)) throw error;
        refused.push({ versionId: item.versionId, productId: item.productId, reason: error.message });
      }
    }
  }
  return { approved, refused };
}

/** What a person's review taught: a product's photos, the text they approved or wrote, and the labels they saw or corrected. */
export interface ReviewedExample {
  productId: string;
  decision: "approve" | "edit";
  /** The text applied on their decision (the generated one, or their edit). */
  text: string;
  /** The version's labels with the person's corrections over them (they saw every label and could correct it). */
  labels: Record<string, string>;
  /** Which labels the person corrected. */
  corrected: string[];
  photoKeys: string[];
  /** The artisan's own words. */
  artisanText: string | null;
}

const exampleRow = z.object({
  product_id: z.string(),
  decision: z.enum(["approve", "edit"]),
  text: z.string(),
  corrected: z.record(z.string(), z.string()),
  predicted: z.record(z.string(), z.object({ label: z.string() }).loose()),
  photo_keys: z.array(z.string()).nullable(),
  artisan_text: z.string().nullable(),
});

/**
 * Every product whose latest review decision approved a text (as generated or edited), still
 * in the catalogue, by product id: `facet dataset export --catalogue --reviewed`'s rows. A product
 * whose latest decision is a reject teaches nothing.
 */
export async function reviewedExamples(ctx: LedgerContext): Promise<ReviewedExample[]> {
  const { rows } = await ctx.db.raw(
    `select * from (
       select distinct on (d.product_id) d.product_id, d.decision, d.text, d.attributes as corrected, v.attributes as predicted,
              c.photo_keys, coalesce(cur.artisan_description, cur.previous_description, c.description) as artisan_text
         from ??.review_decisions d
         join ??.description_versions v on v.id = d.version_id
         join ?? c on c.product_id = d.product_id
         left join ??.current_descriptions cur on cur.product_id = d.product_id
        order by d.product_id, d.at desc, d.id desc
     ) latest
     where decision <> 'reject'
     order by product_id`,
    [ctx.schema, ctx.schema, ctx.catalogue, ctx.schema],
  );
  return (rows as unknown[]).map((row) => {
    const r = exampleRow.parse(row);
    const labels = Object.fromEntries(Object.entries(r.predicted).map(([name, a]) => [name, r.corrected[name] ?? a.label]));
    return { productId: r.product_id, decision: r.decision, text: r.text, labels, corrected: Object.keys(r.corrected), photoKeys: r.photo_keys ?? [], artisanText: r.artisan_text };
  });
}
