/**
 * The pipeline's promises under failure, with real processes: `facet worker` children that
 * are SIGKILLed or SIGTERMed, a private Redis that is FLUSHALLed, pause/resume/cancel from
 * the real CLI. Postgres is the ledger throughout; every run must end exact.
 */
import { cp, mkdir, mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { pathToFileURL } from "node:url";
import pino from "pino";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { DEMO_MODEL_DIR } from "../cli/commands/describe.js";
import { createDemoCatalogue } from "../producers/demo/demo-catalogue-schema.js";
import { seedDemoCatalogue } from "../producers/demo/seed-demo-catalogue.js";
import { RunFeeder } from "../producers/run-feeder.js";
import { createRun, getRun, runCounts, type LedgerContext } from "../shared/ledger/run-ledger.js";
import { CRASH_LIMIT } from "../shared/ledger/lost-jobs.js";
import { DECODE_CRASH_LIMIT } from "../shared/ledger/decode-crashes.js";
import { createDescribeQueue, MAX_STALLED_COUNT, redisConnection, SUSPECT_QUEUE, type DescribeJob } from "../shared/queue/describe-queue.js";
import { openWritableObjectStore } from "../shared/storage/object-store.js";
import type { Queue } from "bullmq";
import { spawnFacet, type FacetProcess } from "./helpers/facet-process.js";
import { createTestDb, type TestDb } from "./helpers/postgres.js";
import { waitFor } from "./helpers/redis.js";
import { startPrivateRedis, type PrivateRedis } from "./helpers/redis-server.js";

const PRODUCTS = 48;
const logger = pino({ level: "silent" });
let t: TestDb;
let redis: PrivateRedis;
let tmp: string;
let ctx: LedgerContext;
let env: Record<string, string>;
let queue: Queue<DescribeJob>;
let suspects: Queue<DescribeJob>;
let feeder: RunFeeder;
const children: FacetProcess[] = [];

beforeAll(async () => {
  [t, redis, tmp] = await Promise.all([createTestDb(), startPrivateRedis(), mkdtemp(path.join(os.tmpdir(), "facet-resilience-"))]);
  await createDemoCatalogue(t.db, t.catalogueSchema);
  const images = pathToFileURL(path.join(tmp, "images")).href;
  await seedDemoCatalogue({ db: t.db, schema: t.catalogueSchema, imageStore: openWritableObjectStore(images, { region: "us-east-1", forcePathStyle: true, access: "photos" }), seed: 21, products: PRODUCTS });
  await mkdir(path.join(tmp, "models"), { recursive: true });
  await cp(DEMO_MODEL_DIR, path.join(tmp, "models/1.0.0"), { recursive: true });
  env = {
    ...t.env,
    REDIS_URL: redis.url,
    QUEUE_PREFIX: "facet-resilience",
    IMAGE_STORE: images,
    MODEL_STORE: pathToFileURL(path.join(tmp, "models")).href,
    MODEL_CACHE_DIR: path.join(tmp, "model-cache"),
    BATCH_SIZE: "8",
    BATCH_MAX_WAIT_MS: "50",
    WORKER_CONCURRENCY: "16",
    // Short locks so a killed worker's jobs come back within seconds, not a minute.
    WORKER_LOCK_DURATION_MS: "2000",
    WORKER_STALLED_INTERVAL_MS: "1000",
    SHUTDOWN_DEADLINE_MS: "10000",
    LOG_LEVEL: "warn",
  };
  ctx = t.ledger;
  queue = createDescribeQueue(redisConnection(redis.url), env.QUEUE_PREFIX as string);
  suspects = createDescribeQueue(redisConnection(redis.url), env.QUEUE_PREFIX as string, SUSPECT_QUEUE);
  feeder = new RunFeeder({ ledger: ctx, queue, suspectQueue: suspects, logger, intervalMs: 100, backlogPerRun: 20, healIntervalMs: 500 });
  feeder.start();
}, 120_000);

afterEach(async () => {
  for (const c of children.splice(0)) {
    if (c.proc.exitCode === null && c.proc.signalCode === null) c.proc.kill("SIGKILL");
    await c.exited;
  }
});

afterAll(async () => {
  await feeder?.stop();
  await queue?.close();
  await suspects?.close();
  await redis?.stop();
  await t?.drop();
  await rm(tmp, { recursive: true, force: true });
});

function worker(extraEnv: Record<string, string> = {}): FacetProcess {
  const w = spawnFacet(["worker"], { ...env, ...extraEnv });
  children.push(w);
  return w;
}

async function cli(...args: string[]): Promise<{ code: number | string; output: string }> {
  const p = spawnFacet(args, env);
  const code = await p.exited;
  return { code, output: p.output() };
}

function isJson(line: string): boolean {
  try {
    return typeof JSON.parse(line) === "object";
  } catch {
    return false;
  }
}

async function finished(runId: string): Promise<number> {
  const c = await runCounts(ctx, runId);
  return c.done + c.failed + c.skipped;
}

async function oneResultPerProduct(runId: string) {
  const rows = await t.db.withSchema(t.schema).table("description_versions").where({ run_id: runId }).select("product_id");
  return { versions: rows.length, products: new Set(rows.map((r) => r.product_id)).size };
}

describe("pipeline resilience (real worker processes, Redis, Postgres)", () => {
  it("keeps exactly one result per product when a worker is SIGKILLed mid-batch and another takes over", async () => {
    const run = await createRun(ctx, { modelVersion: "1.0.0", selection: { kind: "all" }, mode: "shadow" });
    const first = worker();
    await waitFor("some products described", async () => (await finished(run.id)) >= 8, 60_000);
    first.proc.kill("SIGKILL");
    expect(await first.exited).toBe("SIGKILL");
    const before = await finished(run.id);
    expect(before).toBeLessThan(PRODUCTS); // it died with work in hand

    worker();
    await waitFor("run completed after the restart", async () => (await getRun(ctx, run.id)).state === "completed", 90_000);
    expect(await runCounts(ctx, run.id)).toEqual({ total: PRODUCTS, pending: 0, done: PRODUCTS, failed: 0, skipped: 0 });
    expect(await oneResultPerProduct(run.id)).toEqual({ versions: PRODUCTS, products: PRODUCTS });
  }, 180_000);

  it("a SIGTERMed worker stops taking jobs, finishes what it holds and exits 0", async () => {
    const run = await createRun(ctx, { modelVersion: "1.0.0", selection: { kind: "all" }, mode: "shadow" });
    const w = worker();
    await waitFor("worker busy", async () => (await finished(run.id)) >= 4, 60_000);
    w.proc.kill("SIGTERM");
    expect(await w.exited).toBe(0);
    worker();
    await waitFor("run completed", async () => (await getRun(ctx, run.id)).state === "completed", 90_000);
    expect(await oneResultPerProduct(run.id)).toEqual({ versions: PRODUCTS, products: PRODUCTS });
  }, 180_000);

  it("completes a run after Redis FLUSHALL and `facet run resume`", async () => {
    const run = await createRun(ctx, { modelVersion: "1.0.0", selection: { kind: "all" }, mode: "shadow" });
    const first = worker();
    await waitFor("some products described", async () => (await finished(run.id)) >= 8, 60_000);
    first.proc.kill("SIGTERM");
    expect(await first.exited).toBe(0);
    await redis.flushAll(); // every waiting job, and BullMQ's own keys, gone
    expect(await queue.count()).toBe(0);
    const lost = await runCounts(ctx, run.id);
    expect(lost.pending).toBeGreaterThan(0);

    worker();
    const resumed = await cli("run", "resume", run.id);
    expect(resumed, resumed.output).toMatchObject({ code: 0 });
    await waitFor("run completed after the flush", async () => (await getRun(ctx, run.id)).state === "completed", 120_000);
    expect(await runCounts(ctx, run.id)).toMatchObject({ total: PRODUCTS, pending: 0, done: PRODUCTS });
    expect(await oneResultPerProduct(run.id)).toEqual({ versions: PRODUCTS, products: PRODUCTS });
  }, 180_000);

  it("completes a run after Redis FLUSHALL by itself: the producer enqueues again what Redis lost", async () => {
    const run = await createRun(ctx, { modelVersion: "1.0.0", selection: { kind: "all" }, mode: "shadow" });
    const first = worker();
    await waitFor("some products described", async () => (await finished(run.id)) >= 8, 60_000);
    first.proc.kill("SIGKILL"); // with jobs in hand
    expect(await first.exited).toBe("SIGKILL");
    await redis.flushAll();
    expect((await runCounts(ctx, run.id)).pending).toBeGreaterThan(0);

    const second = worker({ LOG_LEVEL: "info" }); // no `facet run resume`
    await waitFor("run completed after the flush", async () => (await getRun(ctx, run.id)).state === "completed", 120_000);
    expect(await runCounts(ctx, run.id)).toMatchObject({ total: PRODUCTS, pending: 0, done: PRODUCTS });
    expect(await oneResultPerProduct(run.id)).toEqual({ versions: PRODUCTS, products: PRODUCTS });
    // Ops parse every line: both workers printed JSON only, through the kill and the flush.
    second.proc.kill("SIGTERM");
    await second.exited;
    const lines = [first, second].flatMap((w) => w.output().split("\n").filter((l) => l.trim() !== ""));
    expect(lines.some((l) => l.includes("worker ready; taking jobs"))).toBe(true);
    expect(lines.filter((l) => !isJson(l))).toEqual([]);
  }, 180_000);

  // decode: the journal names the product its worker died decoding, which then decodes alone and
  // ends at its third death (DECODE_CRASH_LIMIT). pickup: a death the journal cannot name (outside decoding) is left
  // to BullMQ's stall limit and the producer's crash count, the backstop.
  it.each([
    // decode: named before BullMQ's stall limit (MAX_STALLED_COUNT + 1 deaths) is reached.
    { stage: "decode", deaths: DECODE_CRASH_LIMIT, counts: { crashes: 0, decode_crashes: DECODE_CRASH_LIMIT } },
    { stage: "pickup", deaths: CRASH_LIMIT * (MAX_STALLED_COUNT + 1), counts: { crashes: CRASH_LIMIT, decode_crashes: 0 } },
  ])("ends a poison pill that kills every worker at $stage `worker_crashed` after $deaths deaths; the rest complete", async ({ stage, deaths: expectedDeaths, counts }) => {
    const poison = "syn-21-000005";
    const run = await createRun(ctx, { modelVersion: "1.0.0", selection: { kind: "all" }, mode: "shadow" });
    const env = { FAULT_CRASH_PRODUCTS: poison, FAULT_CRASH_STAGE: stage, WORKER_CONCURRENCY: "8" };
    // A supervisor, as Kubernetes would be: a worker that dies is replaced.
    let deaths = 0;
    let current = worker(env);
    let supervising = true;
    const supervisor = (async () => {
      while (supervising) {
        const how = await current.exited;
        if (!supervising) break;
        if (how === "SIGKILL") deaths += 1;
        current = worker(env);
      }
    })();
    try {
      await waitFor("run completed around the poison pill", async () => (await getRun(ctx, run.id)).state === "completed", 240_000);
    } finally {
      supervising = false;
      current.proc.kill("SIGTERM");
      await supervisor;
    }
    const failed = await t.db.withSchema(t.schema).table("run_items").where({ run_id: run.id, state: "failed" }).select("product_id", "reason", "crashes", "decode_crashes");
    expect(failed).toEqual([{ product_id: poison, reason: "worker_crashed", ...counts }]);
    expect(await runCounts(ctx, run.id)).toMatchObject({ total: PRODUCTS, pending: 0, done: PRODUCTS - 1, failed: 1 });
    expect(await oneResultPerProduct(run.id)).toEqual({ versions: PRODUCTS - 1, products: PRODUCTS - 1 });
    expect(deaths).toBe(expectedDeaths);
    // Products decoded beside it when it first killed were charged that death (they were being
    // decoded too) and decoded alone afterwards; none was charged a second.
    const others = await t.db.withSchema(t.schema).table("run_items").where({ run_id: run.id }).whereNot({ product_id: poison }).max({ most: "decode_crashes" }).first();
    expect(Number(others?.most)).toBeLessThanOrEqual(1);
  }, 300_000);

  it("pauses, resumes and cancels runs from the CLI", async () => {
    const run = await createRun(ctx, { modelVersion: "1.0.0", selection: { kind: "all" }, mode: "shadow" });
    await waitFor("jobs in Redis", async () => (await queue.count()) > 0, 30_000);
    const paused = await cli("run", "pause", run.id);
    expect(paused, paused.output).toMatchObject({ code: 0 });
    const w = worker();
    // The worker hands the paused run's jobs back untouched: the queue empties, nothing is described.
    await waitFor("queue drained while paused", async () => (await queue.count()) === 0, 60_000);
    expect((await getRun(ctx, run.id)).state).toBe("paused");
    expect(await runCounts(ctx, run.id)).toMatchObject({ total: PRODUCTS, pending: PRODUCTS, done: 0 });

    const resumed = await cli("run", "resume", run.id);
    expect(resumed, resumed.output).toMatchObject({ code: 0 });
    await waitFor("resumed run completed", async () => (await getRun(ctx, run.id)).state === "completed", 90_000);
    expect(await oneResultPerProduct(run.id)).toEqual({ versions: PRODUCTS, products: PRODUCTS });

    w.proc.kill("SIGTERM"); // no worker while the next run is cancelled, so it can't finish first
    expect(await w.exited).toBe(0);
    const doomed = await createRun(ctx, { modelVersion: "1.0.0", selection: { kind: "all" }, mode: "shadow" });
    await waitFor("jobs in Redis", async () => (await getRun(ctx, doomed.id)).enqueued_seq > 0, 30_000);
    const cancelled = await cli("run", "cancel", doomed.id);
    expect(cancelled, cancelled.output).toMatchObject({ code: 0 });
    worker(); // it finds the cancelled run's jobs and drops them
    await waitFor("queue drained after cancel", async () => (await queue.count()) === 0, 60_000);
    const counts = await runCounts(ctx, doomed.id);
    expect(counts.pending).toBe(0);
    expect(counts).toMatchObject({ total: PRODUCTS, done: 0, skipped: PRODUCTS });
    expect((await getRun(ctx, doomed.id)).state).toBe("cancelled");

    const unknown = await cli("run", "pause", "run_nope");
    expect(unknown.code).toBe(2);
    expect(unknown.output.trim()).toBe("unknown run id 'run_nope'");
  }, 240_000);
});
