import type { FastifyRequest } from "fastify";
import { roleAllows, tokenByHash, tokenHash, touchToken, type ApiToken, type Role } from "../shared/ledger/api-tokens.js";
import { sessionToken } from "../shared/ledger/console-sessions.js";
import type { Actor } from "../shared/ledger/audit-log.js";
import type { LedgerContext } from "../shared/ledger/run-ledger.js";
import { ApiError } from "./api-error.js";

/** Who is asking: the token's id, name and role. */
export interface Caller extends Actor {
  role: Role;
}

/** "Bearer TOKEN" → TOKEN, or an ApiError saying what is wrong with the header. */
export function bearerToken(header: string | undefined): string {
  if (header === undefined || header.trim() === "") throw new ApiError(401, "unauthenticated", "no API token: send Authorization: Bearer TOKEN (facet token create)", "authorization", "required");
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
  if (!match) throw new ApiError(401, "unauthenticated", "the Authorization header must be 'Bearer TOKEN'", "authorization", "bearer");
  return match[1] as string;
}

/**
 * The caller a token belongs to, if it may do what `needed` may: 401 for an unknown or revoked
 * token, 403 for a role below `needed`.
 */
export async function authenticate(ctx: LedgerContext, token: string, needed: Role): Promise<Caller> {
  return admit(ctx, await tokenByHash(ctx, tokenHash(token)), needed, "authorization", "unknown API token");
}

/**
 * The caller a console session (its cookie's id) belongs to, on the same terms as its token:
 * 401 for no, an unknown or an expired session or a revoked token, 403 for a role below `needed`.
 */
export async function authenticateSession(ctx: LedgerContext, sessionId: string | undefined, needed: Role): Promise<Caller> {
  if (!sessionId) throw new ApiError(401, "unauthenticated", "not signed in: sign in with an API token at /console/sign-in", "session", "required");
  return admit(ctx, await sessionToken(ctx, sessionId), needed, "session", "this session has ended (signed out or expired): sign in again");
}

/** `found` as a caller allowed to do what `needed` may, or the ApiError saying why not (naming `field`). */
function admit(ctx: LedgerContext, found: ApiToken | undefined, needed: Role, field: string, unknown: string): Caller {
  if (!found) throw new ApiError(401, "unauthenticated", unknown, field, "known_token");
  if (found.revokedAt) throw new ApiError(401, "unauthenticated", `API token ${found.id} was revoked at ${found.revokedAt.toISOString()}`, field, "not_revoked");
  if (!roleAllows(found.role, needed)) throw new ApiError(403, "forbidden", `this needs the ${needed} role; token ${found.id} is ${found.role}`, field, "role");
  if (found.lastUsedAt === null || Date.now() - found.lastUsedAt.getTime() > 60_000) void touchToken(ctx, found.id).catch(() => undefined);
  return { tokenId: found.id, name: found.name, role: found.role };
}

/** The caller the onRequest hook found for a route with a role (a route without one has none). */
export function callerOf(request: FastifyRequest): Caller {
  if (!request.caller) throw new ApiError(401, "unauthenticated", "no API token", "authorization", "required");
  return request.caller;
}
