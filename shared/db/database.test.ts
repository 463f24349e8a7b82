import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createDb, migrate, type Db } from "./database.js";

const url = process.env.DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/test";
const schema = `facet_test_${randomBytes(4).toString("hex")}`;
let db: Db;

beforeAll(() => {
  db = createDb(url, { poolMax: 2 });
});
afterAll(async () => {
  await db.raw("drop schema if exists ?? cascade", [schema]);
  await db.destroy();
});

describe("migrate", () => {
  it("creates Facet's tables in its own schema, once", async () => {
    expect(await migrate(db, schema)).toEqual(["0001-ledger", "0002-review", "0003-deliveries", "0004-run-shift", "0005-decode-crashes", "0006-access", "0007-console-sessions"]);
    expect(await migrate(db, schema)).toEqual([]);
    const tables = await db("information_schema.tables").where({ table_schema: schema }).pluck("table_name");
    expect(tables.sort()).toEqual(["api_tokens", "audit_log", "console_sessions", "current_descriptions", "description_versions", "knex_migrations", "knex_migrations_lock", "review_decisions", "run_items", "runs"]);
  });

  it("enforces one result per (run, product)", async () => {
    await db.withSchema(schema).table("runs").insert({ id: "r1", model_version: "1", selection: { kind: "all" }, mode: "shadow", state: "running" });
    const row = { run_id: "r1", product_id: "p1", model_name: "m", model_version: "1", input_hash: "h", description: "d", attributes: {}, min_confidence: 0.9 };
    await db.withSchema(schema).table("description_versions").insert(row);
    await expect(db.withSchema(schema).table("description_versions").insert(row)).rejects.toThrow(/description_versions_run_product_key/);
  });
});
