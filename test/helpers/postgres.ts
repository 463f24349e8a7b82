import { randomBytes } from "node:crypto";
import { createDb, migrate, type Db } from "../../shared/db/database.js";

export const TEST_DATABASE_URL = process.env.TEST_DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/test";

/** A knex pool on the test database, Facet's tables migrated into a schema of its own, and a catalogue schema name. */
export interface TestDb {
  db: Db;
  schema: string;
  catalogueSchema: string;
  drop(): Promise<void>;
}

export async function createTestDb(): Promise<TestDb> {
  const suffix = randomBytes(4).toString("hex");
  const schema = `facet_t_${suffix}`;
  const catalogueSchema = `shop_t_${suffix}`;
  const db = createDb(TEST_DATABASE_URL, { poolMax: 4 });
  await migrate(db, schema);
  return {
    db,
    schema,
    catalogueSchema,
    async drop() {
      await db.raw("drop schema if exists ?? cascade", [schema]);
      await db.raw("drop schema if exists ?? cascade", [catalogueSchema]);
      await db.destroy();
    },
  };
}
