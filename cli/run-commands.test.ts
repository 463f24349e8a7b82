import { cp, mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import { pathToFileURL } from "node:url";
import { runFacet } from "../test/helpers/facet-process.js";
import { DEMO_MODEL_DIR } from "./commands/describe.js";
import { spawn } from "node:child_process";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createDemoCatalogue } from "../producers/demo/demo-catalogue-schema.js";
import { createRun, getRun, snapshotChunk, transitionRun, type LedgerContext } from "../shared/ledger/run-ledger.js";
import type { RunMode } from "../shared/ledger/run.js";
import { createTestDb, type TestDb } from "../test/helpers/postgres.js";
import { REPO_ROOT } from "../test/helpers/python.js";
import { waitFor } from "../test/helpers/redis.js";
import { writeOutcomes, type ItemOutcome } from "../shared/ledger/write-outcomes.js";

const FACET = path.join(REPO_ROOT, "bin/facet.mjs");

let t: TestDb;
let ctx: LedgerContext;
let env: NodeJS.ProcessEnv;

let models: string;

beforeAll(async () => {
  t = await createTestDb();
  models = await mkdtemp(path.join(os.tmpdir(), "facet-run-cli-"));
  await cp(DEMO_MODEL_DIR, path.join(models, "1.0.0"), { recursive: true });
  await createDemoCatalogue(t.db, t.catalogueSchema);
  await t.db.withSchema(t.catalogueSchema).table("products").insert(["c1", "c2", "c3"].map((id) => ({ id, title: "x", category: "ring", description: `artisan ${id}` })));
  ctx = t.ledger;
  env = {
    ...process.env,
    ...t.env,
    REVIEW_ATTRIBUTES: "category",
    MODEL_STORE: pathToFileURL(models).href,
    LOG_LEVEL: "silent",
  };
});
afterAll(async () => {
  await t?.drop();
  await rm(models, { recursive: true, force: true });
});

/** Run the real `facet` command against this test's database schemas. */
const facet = (...args: string[]) => runFacet(args, env);

/** Start the real `facet` command and collect its stdout lines as they come. */
function startFacet(...args: string[]) {
  const child = spawn(process.execPath, [FACET, ...args], { cwd: REPO_ROOT, env, stdio: ["ignore", "pipe", "pipe"] });
  const lines: string[] = [];
  let partial = "";
  let stderr = "";
  child.stdout.setEncoding("utf8").on("data", (chunk: string) => {
    const parts = (partial + chunk).split("\n");
    partial = parts.pop() ?? "";
    lines.push(...parts);
  });
  child.stderr.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk));
  const exited = new Promise<{ code: number | null; stderr: string }>((resolve) => child.on("close", (code) => resolve({ code, stderr })));
  return { child, lines, exited };
}

/** A run over c1..c3 (state `running`), with every item done when `finish` is set. */
async function runOver(mode: RunMode, finish: boolean) {
  const run = await createRun(ctx, { modelVersion: "1.0.0", selection: { kind: "ids", ids: ["c1", "c2", "c3"] }, mode });
  while ((await snapshotChunk(ctx, await getRun(ctx, run.id))) > 0);
  await transitionRun(ctx, run.id, "running");
  if (finish) {
    const outcomes: ItemOutcome[] = ["c1", "c2", "c3"].map((productId) => ({
      kind: "done", runId: run.id, productId, mode, modelName: "facet-demo", modelVersion: "1.0.0", inputHash: "h", description: `new ${productId}`,
      attributes: { category: { label: "ring", confidence: 0.99 } },
      review: { reasons: [] },
      familiarity: null,
    }));
    await writeOutcomes(ctx, outcomes, { applyFunction: t.env.CATALOGUE_APPLY_FUNCTION, reviewThreshold: 0.6 });
  }
  return run;
}

describe("facet run watch", () => {
  it("prints the final figures of a completed run as one JSON line and exits 0", async () => {
    const run = await runOver("shadow", true);
    await transitionRun(ctx, run.id, "completed");
    const { code, stdout, stderr } = await facet("run", "watch", run.id, "--json");
    expect({ code, stderr }).toEqual({ code: 0, stderr: "" });
    const lines = stdout.trim().split("\n");
    expect(lines).toHaveLength(1);
    expect(JSON.parse(lines[0] as string)).toEqual({
      id: run.id, state: "completed", total: 3, snapshot_complete: true,
      finished: 3, done: 3, failed: 0, skipped: 0, pending: 0, percent: 100, rate_per_s: null, eta_s: 0,
    });
  });

  it("refuses a selection that matches no product (exit 2, naming it) unless --allow-empty, and a bad priority with a plain line", async () => {
    const empty = await facet("run", "start", "--model", "1.0.0", "--category", "tiara");
    expect(empty.code).toBe(2);
    expect(empty.stderr.trim().split("\n")).toEqual(["facet run start: the selection (category=tiara) matches no product; --allow-empty starts the run anyway"]);
    expect(await t.db.withSchema(t.schema).table("runs").where("selection", "@>", JSON.stringify({ category: "tiara" })).count({ n: "*" }).first()).toEqual({ n: "0" });
    const allowed = await facet("run", "start", "--model", "1.0.0", "--category", "tiara", "--allow-empty", "--json");
    expect(allowed.code, allowed.stderr).toBe(0);
    expect(JSON.parse(allowed.stdout)).toMatchObject({ selection: { kind: "category", category: "tiara" }, state: "snapshotting" });
    for (const value of ["-1", "0", "1.5", "x"]) {
      const bad = await facet("run", "start", "--model", "1.0.0", "--all", "--priority", value);
      expect(bad.code).toBe(2);
      expect(bad.stderr.trim().split("\n")).toEqual([`facet run start: --priority must be a positive integer, got '${value}'`]);
    }
  });

  it("exits 2 with one line for an unknown run id", async () => {
    const { code, stdout, stderr } = await facet("run", "watch", "run_nope", "--json");
    expect(code).toBe(2);
    expect(stdout).toBe("");
    expect(stderr.trim().split("\n")).toEqual(["unknown run id 'run_nope'"]);
  });

  it("exits 2 with one line naming the missing table when the schema was never migrated", async () => {
    const { code, stderr } = await runFacet(["run", "status", "run_nope"], { ...env, DB_SCHEMA: `${env.DB_SCHEMA}_never_migrated` });
    expect(code).toBe(2);
    expect(stderr.trim().split("\n")).toEqual([
      `facet: relation "${env.DB_SCHEMA}_never_migrated.runs" does not exist: Facet's tables are not in this database and schema (DATABASE_URL, DB_SCHEMA); run \`facet db migrate\` first`,
    ]);
  });

  it("follows a running run, one JSON line per interval, until it completes", async () => {
    const run = await runOver("shadow", false);
    const watch = startFacet("run", "watch", run.id, "--json", "--interval-ms", "50");
    await waitFor("first progress line", () => watch.lines.length >= 1);
    expect(JSON.parse(watch.lines[0] as string)).toMatchObject({ state: "running", finished: 0, pending: 3, total: 3 });
    await t.db.withSchema(t.schema).table("run_items").where({ run_id: run.id, product_id: "c1" }).update({ state: "failed", reason: "photo_none" });
    await waitFor("the failure seen", () => watch.lines.some((l) => JSON.parse(l).failed === 1));
    await t.db.withSchema(t.schema).table("run_items").where({ run_id: run.id, state: "pending" }).update({ state: "done" });
    await transitionRun(ctx, run.id, "completed");
    expect(await watch.exited).toEqual({ code: 0, stderr: "" });
    const last = JSON.parse(watch.lines.at(-1) as string);
    expect(last).toMatchObject({ state: "completed", finished: 3, done: 2, failed: 1, percent: 100, eta_s: 0 });
  });

  it("prints a line per interval when stdout is not a terminal, and exits 0 on Ctrl-C", async () => {
    const run = await runOver("shadow", false);
    const watch = startFacet("run", "watch", run.id, "--interval-ms", "50");
    await waitFor("two progress lines", () => watch.lines.length >= 2);
    expect(watch.lines[0]).toMatch(new RegExp(`^${run.id} running \\[-+\\] 0/3 0\\.0% · done 0 · failed 0 · skipped 0 · `));
    watch.child.kill("SIGINT");
    expect(await watch.exited).toEqual({ code: 0, stderr: "" });
  });
});

describe("facet run apply | rollback | retry-failed", () => {
  it("applies a shadow run, rolls it back, and refuses an apply-mode run with one line", async () => {
    const shadow = await runOver("shadow", true);
    const applied = await facet("run", "apply", shadow.id, "--json");
    expect(applied.code).toBe(0);
    expect(JSON.parse(applied.stdout)).toEqual({ id: shadow.id, state: "running", processed: 3, statuses: { applied: 3 } });
    const texts = async () => (await t.db.withSchema(t.catalogueSchema).table("products").orderBy("id").pluck("description")) as string[];
    expect(await texts()).toEqual(["new c1", "new c2", "new c3"]);

    const rolledBack = await facet("run", "rollback", shadow.id, "--json");
    expect(rolledBack.code).toBe(0);
    expect(JSON.parse(rolledBack.stdout)).toEqual({ id: shadow.id, processed: 3, outcomes: { rolled_back: 3 } });
    expect(await texts()).toEqual(["artisan c1", "artisan c2", "artisan c3"]);

    const applyRun = await runOver("apply", false);
    const refused = await facet("run", "apply", applyRun.id);
    expect(refused.code).toBe(2);
    expect(refused.stderr.trim().split("\n")).toHaveLength(1);
    expect(refused.stderr).toContain(`run ${applyRun.id} is an apply run`);
  });

  it("retry-failed reopens a completed run and reports what it moved", async () => {
    const run = await runOver("shadow", false);
    await t.db.withSchema(t.schema).table("run_items").where({ run_id: run.id }).update({ state: "failed", reason: "photo_none" });
    await transitionRun(ctx, run.id, "completed");
    const { code, stdout } = await facet("run", "retry-failed", run.id, "--json");
    expect(code).toBe(0);
    expect(JSON.parse(stdout)).toMatchObject({ id: run.id, state: "running", retried: 3, reopened: true });
    const plain = await facet("run", "retry-failed", run.id);
    expect(plain).toMatchObject({ code: 0, stdout: `${run.id} running: no failed items\n` });
  });
});
