import { z } from "zod";
import type { Knex } from "knex";
import type { LedgerContext } from "./run-ledger.js";

/** Who did something through `facet serve`: the token's id and name as they were then. */
export interface Actor {
  tokenId: string;
  name: string;
}

/** One recorded decision or run command (migration 0006-access). */
export interface AuditEntry {
  id: number;
  at: Date;
  actor: Actor;
  action: string;
  subject: string;
  detail: Record<string, unknown>;
}

const entryRow = z.object({
  id: z.coerce.number().int(),
  at: z.date(),
  actor_token_id: z.string(),
  actor_name: z.string(),
  action: z.string(),
  subject: z.string(),
  detail: z.record(z.string(), z.unknown()),
});

/**
 * Records `action` on `subject` by `actor`. Pass `trx` to record it in the transaction that
 * makes the change, so there is never a change without its entry, or an entry without its change.
 */
export async function recordAudit(ctx: LedgerContext, entry: { actor: Actor; action: string; subject: string; detail?: Record<string, unknown> }, trx?: Knex.Transaction): Promise<void> {
  await (trx ?? ctx.db)
    .withSchema(ctx.schema)
    .table("audit_log")
    .insert({ actor_token_id: entry.actor.tokenId, actor_name: entry.actor.name, action: entry.action, subject: entry.subject, detail: JSON.stringify(entry.detail ?? {}) });
}

/** The latest entries, newest first; `subject` narrows to one run or product. */
export async function listAudit(ctx: LedgerContext, options: { subject?: string; limit?: number } = {}): Promise<AuditEntry[]> {
  const q = ctx.db.withSchema(ctx.schema).table("audit_log").orderBy("id", "desc").limit(options.limit ?? 100);
  if (options.subject !== undefined) q.where({ subject: options.subject });
  const rows = await q.select("id", "at", "actor_token_id", "actor_name", "action", "subject", "detail");
  return rows.map((row: unknown) => {
    const r = entryRow.parse(row);
    return { id: r.id, at: r.at, actor: { tokenId: r.actor_token_id, name: r.actor_name }, action: r.action, subject: r.subject, detail: r.detail };
  });
}
