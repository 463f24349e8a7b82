import { z } from "zod";
import type { LedgerContext } from "./run-ledger.js";

/** One version of a product's description, with the review decision taken on it, if any. */
export interface ProductVersion {
  versionId: number;
  runId: string;
  modelVersion: string;
  status: string;
  description: string;
  reasons: string[];
  createdAt: Date;
  /** Whether it is what Facet applied last. */
  current: boolean;
  decision: { kind: string; text: string | null; attributes: Record<string, unknown>; by: string; at: Date } | null;
}

const versionRow = z.object({
  id: z.coerce.number().int(),
  run_id: z.string(),
  model_version: z.string(),
  status: z.string(),
  description: z.string(),
  review_reasons: z.array(z.string()).nullable(),
  created_at: z.date(),
  current_version_id: z.coerce.number().int().nullable(),
  decision: z.string().nullable(),
  decision_text: z.string().nullable(),
  decision_attributes: z.record(z.string(), z.unknown()).nullable(),
  actor_name: z.string().nullable(),
  decided_at: z.date().nullable(),
});

/** Every version of `productId`'s description, newest first (empty for a product Facet never described). */
export async function productHistory(ctx: LedgerContext, productId: string, limit = 100): Promise<ProductVersion[]> {
  const rows: unknown[] = await ctx.db
    .from(`${ctx.schema}.description_versions as v`)
    .leftJoin(`${ctx.schema}.review_decisions as d`, "d.version_id", "v.id")
    .leftJoin(`${ctx.schema}.current_descriptions as cur`, "cur.product_id", "v.product_id")
    .where("v.product_id", productId)
    .orderBy("v.id", "desc")
    .limit(limit)
    .select("v.id", "v.run_id", "v.model_version", "v.status", "v.description", "v.review_reasons", "v.created_at", {
      current_version_id: "cur.version_id",
      decision: "d.decision",
      decision_text: "d.text",
      decision_attributes: "d.attributes",
      actor_name: "d.actor_name",
      decided_at: "d.at",
    });
  return rows.map((row) => {
    const r = versionRow.parse(row);
    return {
      versionId: r.id, runId: r.run_id, modelVersion: r.model_version, status: r.status, description: r.description, reasons: r.review_reasons ?? [], createdAt: r.created_at,
      current: r.current_version_id === r.id,
      decision: r.decision === null ? null : { kind: r.decision, text: r.decision_text, attributes: r.decision_attributes ?? {}, by: r.actor_name ?? "", at: r.decided_at as Date },
    };
  });
}
