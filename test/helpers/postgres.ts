import { randomBytes } from "node:crypto";
import { createDb, migrate, type Db } from "../../shared/db/database.js";
import type { LedgerContext } from "../../shared/ledger/run-ledger.js";

export const TEST_DATABASE_URL = process.env.TEST_DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/test";

/** A knex pool on the test database, Facet's tables migrated into a schema of its own, and a catalogue schema name. */
export interface TestDb {
  db: Db;
  schema: string;
  catalogueSchema: string;
  /** The ledger in `schema`, reading the catalogue view that createDemoCatalogue makes in `catalogueSchema`. */
  ledger: LedgerContext;
  /** The same, as the settings a spawned `facet` process reads. */
  env: { DATABASE_URL: string; DB_SCHEMA: string; CATALOGUE_RELATION: string; CATALOGUE_APPLY_FUNCTION: string };
  drop(): Promise<void>;
}

export async function createTestDb(): Promise<TestDb> {
  const suffix = randomBytes(4).toString("hex");
  const schema = `facet_t_${suffix}`;
  const catalogueSchema = `shop_t_${suffix}`;
  const db = createDb(TEST_DATABASE_URL, { poolMax: 4 });
  await migrate(db, schema);
  const catalogue = `${catalogueSchema}.catalogue`;
  return {
    db,
    schema,
    catalogueSchema,
    ledger: { db, schema, catalogue },
    env: { DATABASE_URL: TEST_DATABASE_URL, DB_SCHEMA: schema, CATALOGUE_RELATION: catalogue, CATALOGUE_APPLY_FUNCTION: `${catalogueSchema}.apply_description` },
    async drop() {
      await db.raw("drop schema if exists ?? cascade", [schema]);
      await db.raw("drop schema if exists ?? cascade", [catalogueSchema]);
      await db.destroy();
    },
  };
}

/** Run `fn`, counting the statements it sends to Postgres through `db`. */
export async function countingQueries<T>(db: Db, fn: () => Promise<T>): Promise<{ result: T; queries: number }> {
  let queries = 0;
  const listener = () => queries++;
  db.on("query", listener);
  try {
    return { result: await fn(), queries };
  } finally {
    db.off("query", listener);
  }
}
