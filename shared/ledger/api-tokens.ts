import { createHash, randomBytes } from "node:crypto";
import { z } from "zod";
import { NotFoundError } from "../errors/index.js";
import type { LedgerContext } from "./run-ledger.js";

/**
 * API tokens for `facet serve` (migration 0006-access): created and revoked with `facet token`,
 * checked on every request. Only a token's SHA-256 is stored; the token itself is shown once.
 */

/** What a token may do, each role including the ones before it. */
export const ROLES = ["viewer", "reviewer", "operator"] as const;
export type Role = (typeof ROLES)[number];

/** True when `held` may do what `needed` may. */
export function roleAllows(held: Role, needed: Role): boolean {
  return ROLES.indexOf(held) >= ROLES.indexOf(needed);
}

/** A token as listed (never the token itself). */
export interface ApiToken {
  id: string;
  name: string;
  role: Role;
  createdAt: Date;
  revokedAt: Date | null;
  lastUsedAt: Date | null;
}

const tokenRow = z.object({
  id: z.string(),
  name: z.string(),
  role: z.enum(ROLES),
  created_at: z.date(),
  revoked_at: z.date().nullable(),
  last_used_at: z.date().nullable(),
});

/** A token row (id, name, role, created_at, revoked_at, last_used_at) as an ApiToken, checked. */
export function toToken(row: unknown): ApiToken {
  const r = tokenRow.parse(row);
  return { id: r.id, name: r.name, role: r.role, createdAt: r.created_at, revokedAt: r.revoked_at, lastUsedAt: r.last_used_at };
}

/** The stored form of a token: its SHA-256, hex. */
export function tokenHash(token: string): string {
  return createHash("sha256").update(token).digest("hex");
}

/** Creates a token; returns it (the only time it is seen) and its row. The token is `facet_` and 32 random bytes, base64url. */
export async function createToken(ctx: LedgerContext, input: { name: string; role: Role }): Promise<{ token: string; record: ApiToken }> {
  const token = `facet_${randomBytes(32).toString("base64url")}`;
  const id = `tok_${randomBytes(6).toString("hex")}`;
  const [row] = await ctx.db
    .withSchema(ctx.schema)
    .table("api_tokens")
    .insert({ id, name: input.name, role: input.role, token_hash: tokenHash(token) })
    .returning(["id", "name", "role", "created_at", "revoked_at", "last_used_at"]);
  return { token, record: toToken(row) };
}

/** Every token, newest first, revoked ones included. */
export async function listTokens(ctx: LedgerContext): Promise<ApiToken[]> {
  const rows = await ctx.db.withSchema(ctx.schema).table("api_tokens").orderBy([{ column: "created_at", order: "desc" }, { column: "id", order: "desc" }]).select("id", "name", "role", "created_at", "revoked_at", "last_used_at");
  return rows.map(toToken);
}

/** Revokes token `id` (by id or by name); NotFoundError when there is none. Revoking twice keeps the first time. */
export async function revokeToken(ctx: LedgerContext, idOrName: string): Promise<ApiToken> {
  const rows = await ctx.db
    .withSchema(ctx.schema)
    .table("api_tokens")
    .where((q) => q.where({ id: idOrName }).orWhere({ name: idOrName }))
    .update({ revoked_at: ctx.db.raw("coalesce(revoked_at, now())") })
    .returning(["id", "name", "role", "created_at", "revoked_at", "last_used_at"]);
  if (rows.length === 0) throw new NotFoundError(`no API token with id or name '${idOrName}' (facet token list)`);
  if (rows.length > 1) throw new NotFoundError(`'${idOrName}' names ${rows.length} tokens: revoke one by its id (facet token list)`);
  return toToken(rows[0]);
}

/** The token whose hash is `hash`, revoked or not (the caller says why it is refused); undefined if there is none. */
export async function tokenByHash(ctx: LedgerContext, hash: string): Promise<ApiToken | undefined> {
  const row = await ctx.db.withSchema(ctx.schema).table("api_tokens").where({ token_hash: hash }).first("id", "name", "role", "created_at", "revoked_at", "last_used_at");
  return row === undefined ? undefined : toToken(row);
}

/** Notes that token `id` was used now: callers do it at most once a minute per token, not on every request. */
export async function touchToken(ctx: LedgerContext, id: string): Promise<void> {
  await ctx.db.withSchema(ctx.schema).table("api_tokens").where({ id }).update({ last_used_at: ctx.db.fn.now() });
}
