import { z } from "zod";
import type { LedgerContext } from "./run-ledger.js";

/**
 * Deaths charged to a product whose photos were being decoded when its worker died
 * (workers/decode-guard.ts; producers/PIPELINE.md, "Who killed the worker").
 */

/**
 * Decode deaths an item may cause. The first makes it a suspect, which decodes alone in its
 * worker; the third (the last two alone) ends it `worker_crashed`. Not the second: a worker
 * killed for another reason (an OOM, a node lost) while an innocent suspect decodes alone
 * would fail it, and bench:chaos, killing a worker every few seconds, did so once in three runs.
 */
export const DECODE_CRASH_LIMIT = 3;

const chargedRow = z.object({ decode_crashes: z.number().int() });

/**
 * Charges one decode death to the pending item (run, product), once per journal entry `mark`
 * (a worker that dies after charging and before clearing the entry leaves it for the next one,
 * which must not charge it again). Returns the item's decode deaths so far, or undefined when
 * the item is no longer pending (finished elsewhere meanwhile).
 */
export async function chargeDecodeCrash(ctx: LedgerContext, runId: string, productId: string, mark: string): Promise<number | undefined> {
  const { rows } = await ctx.db.raw<{ rows: unknown[] }>(
    `update ??.run_items
        set decode_crashes = decode_crashes + case when decode_crash_mark is distinct from ? then 1 else 0 end,
            decode_crash_mark = ?, updated_at = now()
      where run_id = ? and product_id = ? and state = 'pending'
      returning decode_crashes`,
    [ctx.schema, mark, mark, runId, productId],
  );
  const row = rows[0];
  return row === undefined ? undefined : chargedRow.parse(row).decode_crashes;
}
