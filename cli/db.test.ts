import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createDb, migrate, type Db } from "../shared/db/database.js";
import { migrationSource } from "../shared/db/migrations/index.js";
import { runFacet, spawnFacet } from "../test/helpers/facet-process.js";
import { TEST_DATABASE_URL } from "../test/helpers/postgres.js";
import { waitFor } from "../test/helpers/redis.js";
import { freePort } from "../test/helpers/redis-server.js";

/** A schema of this file's own, never migrated until a test does it. */
const schema = `facet_t_wait_${randomBytes(4).toString("hex")}`;
const env = { ...process.env, DATABASE_URL: TEST_DATABASE_URL, DB_SCHEMA: schema, LOG_LEVEL: "silent" };
const facet = (...args: string[]) => runFacet(["db", ...args], env);
let db: Db;
let known: string[];

beforeAll(async () => {
  db = createDb(TEST_DATABASE_URL, { poolMax: 2 });
  known = await migrationSource(schema).getMigrations([]);
});
afterAll(async () => {
  await db.raw("drop schema if exists ?? cascade", [schema]);
  await db.destroy();
});

describe("facet db wait", () => {
  it("refuses bad flags with exit 2 and one line naming them", async () => {
    const cases = [
      [["wait", "--timeout-s", "0"], "facet db wait: --timeout-s must be a positive integer, got '0'"],
      [["wait", "--timeout-s", "soon"], "facet db wait: --timeout-s must be a positive integer, got 'soon'"],
      [["wait", "now"], "facet db wait: unexpected argument 'now'"],
      [["nap"], "facet db: unknown command 'nap' (see facet db --help)"],
    ] as const;
    const results = await Promise.all([...cases.map(([args]) => facet(...args)), facet("wait", "--timeout")]);
    expect(results.slice(0, cases.length)).toEqual(cases.map(([, line]) => ({ code: 2, stdout: "", stderr: `${line}\n` })));
    const unknownFlag = results[cases.length];
    expect(unknownFlag?.code).toBe(2);
    expect(unknownFlag?.stderr).toMatch(/^facet db wait: .*'--timeout'.*\n$/);
  });

  it("times out with exit 1 naming every migration of a schema never migrated, and creates nothing", async () => {
    const r = await facet("wait", "--timeout-s", "1");
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(`facet db wait: after 1 s, schema ${schema} still lacks ${known.length} migration(s): ${known.join(", ")} (run facet db migrate)\n`);
    const schemas = await db("information_schema.schemata").where({ schema_name: schema }).pluck("schema_name");
    expect(schemas).toEqual([]);
  });

  it("keeps trying while Postgres does not answer, then exits 1 saying so", async () => {
    const closed = `postgres://postgres@127.0.0.1:${await freePort()}/postgres`;
    const r = await runFacet(["db", "wait", "--timeout-s", "1"], { ...env, DATABASE_URL: closed });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^facet db wait: Postgres did not answer within 1 s \(.*ECONNREFUSED.*\)\n$/);
  });

  it("exits 0 once a migration running meanwhile has committed", async () => {
    const waiting = spawnFacet(["db", "wait", "--timeout-s", "60"], { DATABASE_URL: TEST_DATABASE_URL, DB_SCHEMA: schema, LOG_LEVEL: "silent" });
    await waitFor("facet db wait to report the pending migrations", () => waiting.output().includes(`waiting for ${known.length} migration(s)`), 30_000);
    await migrate(db, schema);
    expect(await waiting.exited, waiting.output()).toBe(0);
    expect(waiting.output()).toContain(`schema ${schema} is up to date`);
  });

  it("answers at once when nothing is pending, and names only what is missing", async () => {
    await migrate(db, schema);
    const done = await facet("wait", "--json");
    expect(done).toEqual({ code: 0, stdout: `${JSON.stringify({ schema, pending: [] })}\n`, stderr: "" });

    const last = known[known.length - 1] as string;
    await db.withSchema(schema).table("knex_migrations").where({ name: last }).delete();
    const behind = await facet("wait", "--timeout-s", "1");
    expect(behind.code).toBe(1);
    expect(behind.stderr).toBe(`facet db wait: after 1 s, schema ${schema} still lacks 1 migration(s): ${last} (run facet db migrate)\n`);
  });
});
