import { z } from "zod";
import type { LedgerContext } from "./run-ledger.js";
import { ITEM_STATES } from "./run.js";

const statusCountSchema = z.object({ status: z.string(), n: z.coerce.number().int() });
const reasonCountSchema = z.object({ state: z.enum(ITEM_STATES), reason: z.string().nullable(), n: z.coerce.number().int() });
const appliedSchema = z.object({ product_id: z.string(), previous_description: z.string().nullable(), description: z.string().nullable() });

/** A run's versions by status (generated, applied, needs_review, …). */
export async function versionStatuses(ctx: LedgerContext, runId: string): Promise<Array<{ status: string; n: number }>> {
  const rows: unknown[] = await ctx.db.withSchema(ctx.schema).table("description_versions").where({ run_id: runId }).select("status").count({ n: "*" }).groupBy("status");
  return rows.map((row) => statusCountSchema.parse(row));
}

/** A run's items by state and reason (one pass over its items: the counts and the failures both come from it). */
export async function itemsByStateAndReason(ctx: LedgerContext, runId: string) {
  const rows: unknown[] = await ctx.db.withSchema(ctx.schema).table("run_items").where({ run_id: runId }).select("state", "reason").count({ n: "*" }).groupBy("state", "reason");
  return rows.map((row) => reasonCountSchema.parse(row));
}

/** A run's items that did not end `done`, by state and reason. */
export async function unfinishedReasons(ctx: LedgerContext, runId: string) {
  return (await itemsByStateAndReason(ctx, runId)).filter((r) => r.state !== "done");
}

/** The first `limit` products (by id) whose current description the run applied: the text it replaced and the catalogue's text now. */
export async function appliedSamples(ctx: LedgerContext, runId: string, limit: number) {
  const rows: unknown[] = await ctx.db
    .withSchema(ctx.schema)
    .table("current_descriptions as cd")
    .join(ctx.db.raw("?? as c", [ctx.catalogue]), "c.product_id", "cd.product_id")
    .where("cd.run_id", runId)
    .orderBy("cd.product_id")
    .limit(limit)
    .select("cd.product_id", "cd.previous_description", "c.description");
  return rows.map((row) => appliedSchema.parse(row));
}
