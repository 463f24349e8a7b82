import { ConfigError } from "../../shared/errors/index.js";
import { createToken, listTokens, revokeToken, ROLES, type ApiToken, type Role } from "../../shared/ledger/api-tokens.js";
import { Services } from "../services.js";
import { dispatch, parseFlags } from "../usage-error.js";

const HELP = `usage: facet token <command> [options]   (every command takes --json)

  create --role ROLE --name NAME   a token for \`facet serve\`'s API and console, printed once
        ROLE: viewer (read runs, results and history), reviewer (and approve, edit, reject,
              describe photos), operator (and start, pause, resume and cancel runs)
  list                             every token: id, name, role, created, last used, revoked
  revoke ID|NAME                   refuse the token from now on

  Only a token's SHA-256 is stored: a lost token cannot be shown again; revoke it and create another.`;

export async function tokenCommand(args: string[]): Promise<number> {
  return dispatch("token", HELP, { create, list, revoke }, args);
}

function isRole(value: string): value is Role {
  return (ROLES as readonly string[]).includes(value);
}

function tokenJson(t: ApiToken) {
  return { id: t.id, name: t.name, role: t.role, created_at: t.createdAt.toISOString(), last_used_at: t.lastUsedAt?.toISOString() ?? null, revoked_at: t.revokedAt?.toISOString() ?? null };
}

async function create(args: string[]): Promise<number> {
  const { values, positionals } = parseFlags("token create", args, { role: { type: "string" }, name: { type: "string" }, json: { type: "boolean", default: false } });
  if (positionals.length > 0) throw new ConfigError(`facet token create: unexpected argument '${positionals[0]}' (give --name NAME)`);
  if (values.role === undefined || !isRole(values.role)) throw new ConfigError(`facet token create: --role must be one of ${ROLES.join(", ")}, got '${values.role ?? ""}'`);
  const name = values.name?.trim() ?? "";
  if (name === "") throw new ConfigError("facet token create: --name NAME is required (who or what uses the token)");
  const services = new Services("cli");
  try {
    const { token, record } = await createToken(services.ledger, { name, role: values.role });
    if (values.json) console.log(JSON.stringify({ token, ...tokenJson(record) }));
    else console.log(`${token}\n(token ${record.id}, ${record.role}, "${record.name}": shown only now; keep it secret)`);
    return 0;
  } finally {
    await services.close();
  }
}

async function list(args: string[]): Promise<number> {
  const { values, positionals } = parseFlags("token list", args, { json: { type: "boolean", default: false } });
  if (positionals.length > 0) throw new ConfigError(`facet token list: unexpected argument '${positionals[0]}'`);
  const services = new Services("cli");
  try {
    const tokens = await listTokens(services.ledger);
    if (values.json) console.log(JSON.stringify(tokens.map(tokenJson)));
    else if (tokens.length === 0) console.log("no tokens (facet token create --role ROLE --name NAME)");
    else {
      for (const t of tokens) {
        const state = t.revokedAt ? `revoked ${t.revokedAt.toISOString()}` : `last used ${t.lastUsedAt?.toISOString() ?? "never"}`;
        console.log(`${t.id}  ${t.role.padEnd(8)}  ${t.name}  created ${t.createdAt.toISOString()}  ${state}`);
      }
    }
    return 0;
  } finally {
    await services.close();
  }
}

async function revoke(args: string[]): Promise<number> {
  const { values, positionals } = parseFlags("token revoke", args, { json: { type: "boolean", default: false } });
  if (positionals.length !== 1) throw new ConfigError("facet token revoke: give one token id or name (facet token list)");
  const services = new Services("cli");
  try {
    const t = await revokeToken(services.ledger, positionals[0] as string);
    if (values.json) console.log(JSON.stringify(tokenJson(t)));
    else console.log(`token ${t.id} ("${t.name}") revoked at ${t.revokedAt?.toISOString()}`);
    return 0;
  } finally {
    await services.close();
  }
}
