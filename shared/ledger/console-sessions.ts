import { randomBytes } from "node:crypto";
import { toToken, tokenHash, type ApiToken } from "./api-tokens.js";
import type { LedgerContext } from "./run-ledger.js";

/**
 * The console's sessions (migration 0007): a browser signs in with an API token and gets a
 * random session id in a cookie; only the id's SHA-256 is stored. Each request reads the session
 * with its token, so a revoked token ends its sessions at once.
 */

/** A session's id (for the cookie, shown once) and when it ends. */
export interface NewSession {
  id: string;
  expiresAt: Date;
}

/** Opens a session for token `tokenId`, lasting `ttlMs`. */
export async function openSession(ctx: LedgerContext, tokenId: string, ttlMs: number): Promise<NewSession> {
  const id = randomBytes(32).toString("base64url");
  const expiresAt = new Date(Date.now() + ttlMs);
  await ctx.db.withSchema(ctx.schema).table("console_sessions").insert({ id_hash: tokenHash(id), token_id: tokenId, expires_at: expiresAt });
  // Sessions that ended are dropped as new ones open, so the table stays the size of the live ones.
  await ctx.db.withSchema(ctx.schema).table("console_sessions").where("expires_at", "<", ctx.db.fn.now()).delete();
  return { id, expiresAt };
}

/** The token behind live session `id` (revoked or not: the caller refuses a revoked one); undefined for an unknown or expired session. */
export async function sessionToken(ctx: LedgerContext, id: string): Promise<ApiToken | undefined> {
  const row: unknown = await ctx.db
    .from(`${ctx.schema}.console_sessions as s`)
    .join(`${ctx.schema}.api_tokens as t`, "t.id", "s.token_id")
    .where("s.id_hash", tokenHash(id))
    .where("s.expires_at", ">", ctx.db.fn.now())
    .first("t.id", "t.name", "t.role", "t.created_at", "t.revoked_at", "t.last_used_at");
  return row === undefined ? undefined : toToken(row);
}

/** Ends session `id` (signing out); nothing happens for an unknown one. */
export async function closeSession(ctx: LedgerContext, id: string): Promise<void> {
  await ctx.db.withSchema(ctx.schema).table("console_sessions").where({ id_hash: tokenHash(id) }).delete();
}
