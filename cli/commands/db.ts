import { ConfigError } from "../../shared/errors/index.js";
import { migrate, pendingMigrations, type Db } from "../../shared/db/database.js";
import { Services } from "../services.js";
import { dispatch, parseFlags, positiveInt } from "../usage-error.js";

/** `facet db wait`'s default limit: long enough for a release's migrate Job to pull its image and run. */
const DEFAULT_WAIT_TIMEOUT_S = 600;
/** How often `facet db wait` reads the migrations table: a pod starts within this of the migration's commit. */
const WAIT_POLL_MS = 2000;

const HELP = `usage: facet db <command> [options]   (every command takes --json)

  migrate               create or update Facet's tables in DB_SCHEMA
  wait [--timeout-s N]  wait until every migration this build knows is applied in DB_SCHEMA
                        (read only; polls every ${WAIT_POLL_MS / 1000} s; default --timeout-s ${DEFAULT_WAIT_TIMEOUT_S}); exit 0 then,
                        or exit 1 naming the pending migrations when N seconds pass.
                        Kubernetes runs it as every Facet pod's initContainer (deploy/README.md).`;

export async function dbCommand(args: string[]): Promise<number> {
  return dispatch("db", HELP, { migrate: migrateCommand, wait: waitCommand }, args);
}

/** `facet db migrate [--json]`: create or update Facet's tables in DB_SCHEMA. */
async function migrateCommand(args: string[]): Promise<number> {
  const { values } = parseFlags("db migrate", args, { json: { type: "boolean", default: false } });
  const services = new Services("cli");
  try {
    const applied = await migrate(services.db, services.config.DB_SCHEMA);
    if (values.json) console.log(JSON.stringify({ schema: services.config.DB_SCHEMA, applied }));
    else console.log(applied.length ? `applied ${applied.join(", ")} in schema ${services.config.DB_SCHEMA}` : `schema ${services.config.DB_SCHEMA} is up to date`);
    return 0;
  } finally {
    await services.close();
  }
}

/**
 * `facet db wait [--timeout-s N] [--json]`: exit 0 once no migration this build knows is pending
 * in DB_SCHEMA; exit 1 after N seconds, naming the pending ones (or why Postgres did not answer).
 */
async function waitCommand(args: string[]): Promise<number> {
  const { values, positionals } = parseFlags("db wait", args, { "timeout-s": { type: "string" }, json: { type: "boolean", default: false } });
  if (positionals.length > 0) throw new ConfigError(`facet db wait: unexpected argument '${positionals[0]}'`);
  const timeoutS = positiveInt("db wait", "timeout-s", values["timeout-s"], DEFAULT_WAIT_TIMEOUT_S);
  const services = new Services("cli");
  const schema = services.config.DB_SCHEMA;
  try {
    const last = await untilMigrated(services.db, schema, timeoutS * 1000, (pending) => {
      if (!values.json) console.log(`waiting for ${pending.length} migration(s) in schema ${schema}: ${pending.join(", ")} (facet db migrate applies them)`);
    });
    if (last.kind === "migrated") {
      if (values.json) console.log(JSON.stringify({ schema, pending: [] }));
      else console.log(`schema ${schema} is up to date`);
      return 0;
    }
    if (last.kind === "pending") console.error(`facet db wait: after ${timeoutS} s, schema ${schema} still lacks ${last.pending.length} migration(s): ${last.pending.join(", ")} (run facet db migrate)`);
    else console.error(`facet db wait: Postgres did not answer within ${timeoutS} s (${last.message})`);
    return 1;
  } finally {
    await services.close();
  }
}

type WaitOutcome = { kind: "migrated" } | { kind: "pending"; pending: string[] } | { kind: "unreachable"; message: string };

/**
 * Read the pending migrations every WAIT_POLL_MS until there are none or `timeoutMs` has passed;
 * returns the last reading (so it may end up to WAIT_POLL_MS late). Postgres not answering (yet) is a reading too, so the wait outlasts a
 * database that starts after the pod. `onFirstPending` is called once, when one is first seen.
 */
async function untilMigrated(db: Db, schema: string, timeoutMs: number, onFirstPending: (pending: string[]) => void): Promise<WaitOutcome> {
  const deadline = Date.now() + timeoutMs;
  let announced = false;
  for (;;) {
    // Each reading may take WAIT_POLL_MS even near the deadline: a last one cut short would only say "no answer".
    const reading = await readPending(db, schema, Math.max(deadline - Date.now(), WAIT_POLL_MS));
    if (reading.kind === "migrated") return reading;
    if (reading.kind === "pending" && !announced) {
      onFirstPending(reading.pending);
      announced = true;
    }
    const left = deadline - Date.now();
    if (left <= 0) return reading;
    await new Promise((resolve) => setTimeout(resolve, Math.min(WAIT_POLL_MS, left)));
  }
}

/** One reading, given at most `withinMs` (a connection attempt may otherwise hang for knex's 60 s). */
async function readPending(db: Db, schema: string, withinMs: number): Promise<WaitOutcome> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${withinMs} ms`)), withinMs);
  });
  try {
    const pending = await Promise.race([pendingMigrations(db, schema), late]);
    return pending.length === 0 ? { kind: "migrated" } : { kind: "pending", pending };
  } catch (error) {
    return { kind: "unreachable", message: error instanceof Error ? error.message : String(error) };
  } finally {
    clearTimeout(timer);
  }
}
