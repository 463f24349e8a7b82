import type { Knex } from "knex";
import { z } from "zod";
import { NotFoundError } from "../errors/index.js";
import { callApplyFunction } from "./apply-rules.js";
import { recordAudit, type Actor } from "./audit-log.js";
import type { LedgerContext } from "./run-ledger.js";

/** What a product's rollback came to. */
export const ROLLBACK_OUTCOMES = {
  /** Previous text restored; the version is marked `rolled_back`. */
  rolledBack: "rolled_back",
  /** The artisan edited the text after Facet applied it: their text stays. */
  keptEdited: "kept_edited",
  /** The artisan locked the product after Facet applied it: nothing is written to it. */
  keptLocked: "kept_locked",
  /** The product left the catalogue: nothing to restore (tried again by a later rollback). */
  productGone: "product_gone",
  /**
   * The current text was itself restored by an earlier rollback, and what it replaced is not
   * in the ledger (current_descriptions keeps one step of history): left as it is.
   */
  previousUnknown: "previous_unknown",
} as const;
export type RollbackOutcome = (typeof ROLLBACK_OUTCOMES)[keyof typeof ROLLBACK_OUTCOMES];

/** One current_descriptions row of the run, with what the catalogue says about its product now. */
const candidateSchema = z.object({
  product_id: z.string(),
  version_id: z.coerce.number().int(),
  previous_description: z.string().nullable(),
  previous_version_id: z.coerce.number().int().nullable(),
  present: z.boolean(),
  locked: z.boolean(),
  edited: z.boolean(),
});
type Candidate = z.infer<typeof candidateSchema>;

/**
 * One transaction of `facet run rollback`: the run's next `limit` products after `cursor` (by
 * product id) whose current description it applied, locked and rolled back one by one. Rows
 * another rollback (or apply) changed while this one waited drop out: only an empty chunk
 * means the end.
 */
export async function rollbackChunk(
  ctx: LedgerContext,
  applyFunction: string,
  runId: string,
  cursor: string,
  limit: number,
): Promise<Array<{ productId: string; outcome: RollbackOutcome }>> {
  return ctx.db.transaction(async (trx) => {
    const candidates = await lockChunk(trx, ctx, runId, cursor, limit);
    const outcomes: Array<{ productId: string; outcome: RollbackOutcome }> = [];
    for (const c of candidates) outcomes.push({ productId: c.product_id, outcome: await rollbackProduct(trx, ctx, applyFunction, c) });
    return outcomes;
  });
}

/**
 * Roll one product back (the console's and the API's product rollback): the text its current
 * description replaced is restored, on the same terms as a run's rollback (an artisan's later
 * edit or lock is kept), and the audit log records who did it, in one transaction.
 * NotFoundError when Facet has applied nothing to the product.
 */
export async function rollbackOneProduct(ctx: LedgerContext, applyFunction: string, productId: string, actor: Actor): Promise<{ versionId: number; outcome: RollbackOutcome }> {
  return ctx.db.transaction(async (trx) => {
    const [candidate] = await lockCandidates(trx, ctx, "cd.product_id = ?", [productId], 1);
    if (!candidate) throw new NotFoundError(`Facet has applied no description to product ${productId}: nothing to roll back`);
    const outcome = await rollbackProduct(trx, ctx, applyFunction, candidate);
    await recordAudit(ctx, { actor, action: "product.rollback", subject: productId, detail: { version_id: candidate.version_id, outcome } }, trx);
    return { versionId: candidate.version_id, outcome };
  });
}

/** The run's next current_descriptions rows after `cursor` (by product id), locked, joined to the catalogue. */
function lockChunk(trx: Knex.Transaction, ctx: LedgerContext, runId: string, cursor: string, limit: number): Promise<Candidate[]> {
  return lockCandidates(trx, ctx, "cd.run_id = ? and cd.product_id > ?", [runId, cursor], limit);
}

/**
 * current_descriptions rows matching `where`, locked, joined to the catalogue. The edit test
 * runs in SQL: timestamps keep their microseconds there (a JS Date has ms).
 */
async function lockCandidates(trx: Knex.Transaction, ctx: LedgerContext, where: string, bindings: readonly string[], limit: number): Promise<Candidate[]> {
  const { rows } = await trx.raw(
    `select cd.product_id, cd.version_id, cd.previous_description, cd.previous_version_id,
            c.product_id is not null as present,
            coalesce(c.locked, false) as locked,
            coalesce(c.description_edited_at > cd.applied_at, false) as edited
       from ??.current_descriptions cd
       left join ?? c on c.product_id = cd.product_id
      where ${where}
      order by cd.product_id
      limit ?
      for update of cd`,
    [ctx.schema, ctx.catalogue, ...bindings, limit],
  );
  return (rows as unknown[]).map((row) => candidateSchema.parse(row));
}

async function rollbackProduct(trx: Knex.Transaction, ctx: LedgerContext, applyFunction: string, c: Candidate): Promise<RollbackOutcome> {
  if (!c.present) return ROLLBACK_OUTCOMES.productGone;
  if (c.locked) return ROLLBACK_OUTCOMES.keptLocked;
  if (c.edited) return ROLLBACK_OUTCOMES.keptEdited;
  if (c.previous_version_id === c.version_id) return ROLLBACK_OUTCOMES.previousUnknown;
  if (!(await callApplyFunction(trx, applyFunction, c.product_id, c.previous_description))) return ROLLBACK_OUTCOMES.productGone;

  const current = () => trx.withSchema(ctx.schema).table("current_descriptions").where({ product_id: c.product_id });
  const previous =
    c.previous_version_id === null
      ? undefined
      : await trx.withSchema(ctx.schema).table("description_versions").where({ id: c.previous_version_id }).first("id", "run_id", "description");
  if (previous) {
    // The text before the previous version is not in the ledger any more: mark the row as
    // its own predecessor ("previous unknown"), so a rollback of that earlier run leaves it
    // instead of writing a wrong or empty text. Its edit clock restarts now, when Facet wrote.
    const restored = c.previous_description ?? (previous.description as string);
    await current().update({
      version_id: previous.id,
      run_id: previous.run_id,
      description: restored,
      applied_at: trx.fn.now(),
      previous_description: restored,
      previous_version_id: previous.id,
    });
  } else {
    // Facet had applied nothing before (or that version's run was deleted): the product is
    // the artisan's again, as if Facet had never written to it.
    await current().delete();
  }
  await trx.withSchema(ctx.schema).table("description_versions").where({ id: c.version_id }).update({ status: "rolled_back" });
  return ROLLBACK_OUTCOMES.rolledBack;
}
