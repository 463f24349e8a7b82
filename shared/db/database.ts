import knex, { type Knex } from "knex";
import { migrationSource } from "./migrations/index.js";

export type Db = Knex;

/** A knex pool for DATABASE_URL. Only a process's composition root calls this, and closes it with `db.destroy()`. */
export function createDb(url: string, options: { poolMax?: number } = {}): Db {
  return knex({ client: "pg", connection: url, pool: { min: 0, max: options.poolMax ?? 10 } });
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
