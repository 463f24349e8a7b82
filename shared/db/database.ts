import knex, { type Knex } from "knex";
import type { Logger } from "../logging/logger.js";
import { migrationSource } from "./migrations/index.js";

export type Db = Knex;

/**
 * A knex pool for DATABASE_URL. Only a process's composition root calls this, and closes it with
 * `db.destroy()`. With `logger`, knex's own messages (printed as text by default) are JSON lines
 * at warn: during a Postgres restart they are expected noise, and what failed is logged by the caller.
 */
export function createDb(url: string, options: { poolMax?: number; logger?: Logger } = {}): Db {
  const logger = options.logger;
  const log = logger
    ? {
        warn: (message: unknown) => logger.warn({ dependency: "postgres" }, `knex: ${String(message)}`),
        error: (message: unknown) => logger.warn({ dependency: "postgres" }, `knex: ${String(message)}`),
        deprecate: (message: unknown) => logger.warn({ dependency: "postgres" }, `knex deprecation: ${String(message)}`),
        debug: (message: unknown) => logger.debug({ dependency: "postgres" }, `knex: ${String(message)}`),
      }
    : undefined;
  return knex({ client: "pg", connection: url, pool: { min: 0, max: options.poolMax ?? 10 }, ...(log ? { log } : {}) });
}

/** Bring Facet's schema up to date; returns the migrations applied now. */
export async function migrate(db: Db, schema: string): Promise<string[]> {
  await db.raw("create schema if not exists ??", [schema]);
  const [, applied] = (await db.migrate.latest({ migrationSource: migrationSource(schema), schemaName: schema, tableName: "knex_migrations" })) as [
    number,
    string[],
  ];
  return applied;
}

/**
 * The migrations this build knows that are not applied in `schema`, in order (all of them when
 * the schema or its migrations table does not exist yet). Read only: knex's `migrate.list` and
 * `migrate.status` create the migrations tables when they are missing, and a check that polls
 * while another process migrates (`facet db wait`) must not race it to do that.
 */
export async function pendingMigrations(db: Db, schema: string): Promise<string[]> {
  const known = await migrationSource(schema).getMigrations([]);
  const table = (await db.raw("select to_regclass(format('%I.knex_migrations', ?::text)) is not null as present", [schema])) as { rows: Array<{ present: boolean }> };
  if (!table.rows[0]?.present) return known;
  const applied = new Set(await db.withSchema(schema).table("knex_migrations").pluck<string[]>("name"));
  return known.filter((name) => !applied.has(name));
}
