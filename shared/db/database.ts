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
