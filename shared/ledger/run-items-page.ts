import { z } from "zod";
import type { LedgerContext } from "./run-ledger.js";

/**
 * One page of a run's products with their before and after (the console's run detail): what the
 * catalogue showed, what the run generated, its attributes beside the product's previous
 * version's, and how the item ended.
 */

export interface RunItemFilter {
  /** Only products whose generated category differs from the catalogue's. */
  changedCategory?: boolean;
  /** Only versions whose smallest gated confidence is below this. */
  confidenceBelow?: number;
  /** Only failed items. */
  failed?: boolean;
}

export type Attributes = Record<string, { label: string; confidence: number }>;

export interface RunItemView {
  seq: number;
  productId: string;
  state: string;
  reason: string | null;
  detail: string | null;
  /** The catalogue's category now. */
  category: string | null;
  /** The text before this run: what its version replaced if it was applied, else what the catalogue shows. */
  before: string | null;
  version: { id: number; status: string; description: string; attributes: Attributes; minConfidence: number; reasons: string[] } | null;
  /** The product's version before this run's, if any: the attributes to compare with. */
  previousAttributes: Attributes | null;
}

const attributes = z.record(z.string(), z.object({ label: z.string(), confidence: z.number() }).loose());
const itemRow = z.object({
  seq: z.coerce.number().int(),
  product_id: z.string(),
  state: z.string(),
  reason: z.string().nullable(),
  detail: z.string().nullable(),
  category: z.string().nullable(),
  before: z.string().nullable(),
  version_id: z.coerce.number().int().nullable(),
  status: z.string().nullable(),
  description: z.string().nullable(),
  attributes: attributes.nullable(),
  min_confidence: z.number().nullable(),
  review_reasons: z.array(z.string()).nullable(),
  previous_attributes: attributes.nullable(),
});

/** Run `runId`'s items after `afterSeq`, in seq order, narrowed by `filter`. */
export async function runItemsPage(ctx: LedgerContext, runId: string, filter: RunItemFilter, limit: number, afterSeq = 0): Promise<RunItemView[]> {
  const { db, schema } = ctx;
  const q = db
    .from(`${schema}.run_items as ri`)
    .leftJoin(`${schema}.description_versions as v`, (j) => j.on("v.run_id", "ri.run_id").andOn("v.product_id", "ri.product_id"))
    .leftJoin(`${ctx.catalogue} as c`, "c.product_id", "ri.product_id")
    .leftJoin(`${schema}.current_descriptions as cur`, "cur.product_id", "ri.product_id")
    .joinRaw(
      `left join lateral (select p.attributes from ??.description_versions p where p.product_id = ri.product_id and p.id < v.id order by p.id desc limit 1) prev on true`,
      [schema],
    )
    .where("ri.run_id", runId)
    .where("ri.seq", ">", afterSeq)
    .orderBy("ri.seq")
    .limit(limit)
    .select("ri.seq", "ri.product_id", "ri.state", "ri.reason", "ri.detail", "c.category", "v.status", "v.description", "v.attributes", "v.min_confidence", "v.review_reasons", {
      version_id: "v.id",
      previous_attributes: "prev.attributes",
    })
    .select(db.raw("case when cur.version_id = v.id then cur.previous_description else c.description end as before"));
  if (filter.failed) q.where("ri.state", "failed");
  if (filter.confidenceBelow !== undefined) q.where("v.min_confidence", "<", filter.confidenceBelow);
  if (filter.changedCategory) q.whereRaw("v.attributes->'category'->>'label' is distinct from c.category").whereNotNull("v.id");
  const rows: unknown[] = await q;
  return rows.map((row) => {
    const r = itemRow.parse(row);
    return {
      seq: r.seq, productId: r.product_id, state: r.state, reason: r.reason, detail: r.detail, category: r.category, before: r.before,
      version:
        r.version_id === null
          ? null
          : { id: r.version_id, status: r.status ?? "", description: r.description ?? "", attributes: r.attributes ?? {}, minConfidence: r.min_confidence ?? 0, reasons: r.review_reasons ?? [] },
      previousAttributes: r.previous_attributes,
    };
  });
}

/** A product's photo keys in the catalogue (primary first); undefined when the product is not in it. */
export async function productPhotoKeys(ctx: LedgerContext, productId: string): Promise<string[] | undefined> {
  const row = await ctx.db.from(ctx.catalogue).where({ product_id: productId }).first("photo_keys");
  if (row === undefined) return undefined;
  return z.array(z.string()).nullable().parse(row.photo_keys) ?? [];
}
