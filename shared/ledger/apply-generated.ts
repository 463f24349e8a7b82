import { applyVersion, type ApplySettings } from "./apply-rules.js";
import type { LedgerContext } from "./run-ledger.js";

/**
 * One transaction of `facet run apply`: the run's next `limit` versions still `generated` after
 * version id `afterId`, locked `for update` and decided by the apply rules (`applyVersion`).
 * Returns each version's new status, in id order. Rows another apply decided while this one
 * waited on their locks drop out, so a short chunk does not mean the end: only an empty one does.
 */
export async function applyGeneratedChunk(
  ctx: LedgerContext,
  apply: ApplySettings,
  runId: string,
  afterId: number,
  limit: number,
): Promise<Array<{ id: number; status: string }>> {
  return ctx.db.transaction(async (trx) => {
    const rows: Array<{ id: string | number }> = await trx
      .withSchema(ctx.schema)
      .table("description_versions")
      .where({ run_id: runId, status: "generated" })
      .where("id", ">", afterId)
      .orderBy("id")
      .limit(limit)
      .forUpdate()
      .select("id");
    const decided: Array<{ id: number; status: string }> = [];
    for (const row of rows) decided.push({ id: Number(row.id), status: await applyVersion(trx, ctx, Number(row.id), apply) });
    return decided;
  });
}
