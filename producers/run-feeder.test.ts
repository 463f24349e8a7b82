import { UnrecoverableError, Worker } from "bullmq";
import pino from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createDemoCatalogue } from "./demo/demo-catalogue-schema.js";
import { createRun, getRun, requeueLost, runCounts, type LedgerContext } from "../shared/ledger/run-ledger.js";
import { CRASH_LIMIT, JOB_FAILURE_LIMIT, settleLostJobs } from "../shared/ledger/lost-jobs.js";
import { createDescribeQueue, DESCRIBE_QUEUE, describeJobId, STALL_LIMIT_REASON, type DescribeJob } from "../shared/queue/describe-queue.js";
import { createTestDb, type TestDb } from "../test/helpers/postgres.js";
import { deletePrefix, testConnection, testQueuePrefix, waitFor } from "../test/helpers/redis.js";
import { RunFeeder } from "./run-feeder.js";

let t: TestDb;
let ctx: LedgerContext;
const prefix = testQueuePrefix();
const queue = createDescribeQueue(testConnection(), prefix);
const logger = pino({ level: "silent" });

beforeAll(async () => {
  t = await createTestDb();
  await createDemoCatalogue(t.db, t.catalogueSchema);
  await t.db.withSchema(t.catalogueSchema).table("products").insert(
    Array.from({ length: 25 }, (_, i) => ({ id: `p${String(i).padStart(2, "0")}`, title: "x", category: "ring", photo_keys: [] })),
  );
  ctx = t.ledger;
});
afterAll(async () => {
  await queue.close();
  await deletePrefix(prefix);
  await t?.drop();
});

/** Stand-in for workers: finish the jobs in Redis (ledger done, job removed). */
async function drain(limit: number): Promise<number> {
  const jobs = (await queue.getJobs(["waiting", "prioritized"], 0, limit - 1, true)).filter((j) => j !== undefined);
  for (const job of jobs) {
    await t.db.withSchema(t.schema).table("run_items").where({ run_id: job.data.runId, seq: job.data.seq }).update({ state: "done" });
    await job.remove();
  }
  return jobs.length;
}

describe("RunFeeder (real Postgres and Redis)", () => {
  it("snapshots, keeps the Redis backlog bounded, refills as work drains, and completes the run", async () => {
    const feeder = new RunFeeder({ ledger: ctx, queue, logger, backlogPerRun: 10, snapshotChunk: 8 });
    const run = await createRun(ctx, { modelVersion: "1.0.0", selection: { kind: "all" }, mode: "shadow" });
    let peak = 0;
    for (let i = 0; i < 40 && (await getRun(ctx, run.id)).state !== "completed"; i++) {
      await feeder.tick();
      peak = Math.max(peak, await queue.count());
      await drain(4);
    }
    expect((await getRun(ctx, run.id)).state).toBe("completed");
    expect(peak).toBeLessThanOrEqual(10);
    expect(await runCounts(ctx, run.id)).toMatchObject({ total: 25, done: 25, pending: 0 });
    expect(await queue.count()).toBe(0);
  });

  it("enqueues the same item once however often it is fed, and re-enqueues what Redis lost", async () => {
    const feeder = new RunFeeder({ ledger: ctx, queue, logger, backlogPerRun: 100 });
    const run = await createRun(ctx, { modelVersion: "1.0.0", selection: { kind: "ids", ids: ["p01", "p02", "p03"] }, mode: "shadow" });
    await waitFor("run fed", async () => {
      await feeder.tick();
      return (await getRun(ctx, run.id)).enqueued_seq === 3;
    });
    await requeueLost(ctx, run.id); // nothing was lost: the same ids are refused
    await feeder.tick();
    expect(await queue.count()).toBe(3);

    await (await queue.getJob(describeJobId(run.id, 2)))?.remove(); // Redis loses a job
    await requeueLost(ctx, run.id);
    await feeder.tick();
    expect(await queue.count()).toBe(3);
    expect(await queue.getJob(describeJobId(run.id, 2))).toBeDefined();
    await drain(10);
  });

  it("feeds urgent runs first", async () => {
    const feeder = new RunFeeder({ ledger: ctx, queue, logger, backlogPerRun: 100 });
    const nightly = await createRun(ctx, { modelVersion: "1.0.0", selection: { kind: "all" }, mode: "shadow", priority: 1000 });
    const urgent = await createRun(ctx, { modelVersion: "1.0.0", selection: { kind: "ids", ids: ["p07"] }, mode: "apply", priority: 1 });
    for (let i = 0; i < 4; i++) await feeder.tick();
    const [first] = await queue.getJobs(["prioritized", "waiting"], 0, 0, true);
    expect(first?.data.runId).toBe(urgent.id);
    expect((await getRun(ctx, nightly.id)).enqueued_seq).toBe(25);
  });
});

describe("RunFeeder heals the queue from the ledger (real Postgres and Redis)", () => {
  // Its own database and queue: no run of the tests above is fed here.
  let h: TestDb;
  let ctx: LedgerContext;
  let feeder: RunFeeder;
  const healPrefix = testQueuePrefix();
  const healQueue = createDescribeQueue(testConnection(), healPrefix);
  const taker = new Worker<DescribeJob>(DESCRIBE_QUEUE, null, { connection: testConnection(), prefix: healPrefix, autorun: false });
  beforeAll(async () => {
    h = await createTestDb();
    await createDemoCatalogue(h.db, h.catalogueSchema);
    await h.db.withSchema(h.catalogueSchema).table("products").insert(["p10", "p11", "p12", "p13"].map((id) => ({ id, title: "x", category: "ring", photo_keys: [] })));
    ctx = h.ledger;
    feeder = new RunFeeder({ ledger: ctx, queue: healQueue, logger, backlogPerRun: 100, healIntervalMs: 0 });
  });
  afterAll(async () => {
    await taker.close();
    await healQueue.close();
    await deletePrefix(healPrefix);
    await h?.drop();
  });

  /** Take the run's one job as a worker would and fail it with `reason` (no outcome in the ledger). */
  async function failTheJob(reason: string): Promise<void> {
    const job = await taker.getNextJob("test-token");
    if (!job) throw new Error("no job to take");
    await job.moveToFailed(new UnrecoverableError(reason), "test-token");
  }

  async function item(runId: string) {
    return h.db.withSchema(h.schema).table("run_items").where({ run_id: runId }).first("state", "reason", "crashes", "job_failures");
  }

  it("enqueues again a job Redis lost, with no resume and no count against the item", async () => {
    const run = await createRun(ctx, { modelVersion: "1.0.0", selection: { kind: "ids", ids: ["p10"] }, mode: "shadow" });
    await waitFor("run fed", async () => {
      await feeder.tick();
      return (await getRun(ctx, run.id)).enqueued_seq === 1;
    });
    await (await healQueue.getJob(describeJobId(run.id, 1)))?.remove(); // a flush, an eviction
    await feeder.tick();
    expect(await healQueue.getJob(describeJobId(run.id, 1))).toBeDefined();
    expect(await item(run.id)).toMatchObject({ state: "pending", crashes: 0, job_failures: 0 });
    await (await healQueue.getJob(describeJobId(run.id, 1)))?.remove();
    await h.db.withSchema(h.schema).table("run_items").where({ run_id: run.id }).update({ state: "done" });
  });

  it(`ends an item worker_crashed after ${CRASH_LIMIT} stall-limit failures, enqueuing it again before that`, async () => {
    const run = await createRun(ctx, { modelVersion: "1.0.0", selection: { kind: "ids", ids: ["p11"] }, mode: "shadow" });
    await feeder.tick();
    await feeder.tick();
    for (let crash = 1; crash < CRASH_LIMIT; crash++) {
      await failTheJob(STALL_LIMIT_REASON);
      await feeder.tick();
      expect(await item(run.id)).toMatchObject({ state: "pending", crashes: crash });
      expect(await healQueue.getJobState(describeJobId(run.id, 1))).toMatch(/waiting|prioritized/);
    }
    await failTheJob(STALL_LIMIT_REASON);
    await feeder.tick();
    expect(await item(run.id)).toMatchObject({ state: "failed", reason: "worker_crashed", crashes: CRASH_LIMIT });
    expect(await healQueue.getJob(describeJobId(run.id, 1))).toBeUndefined(); // the failed job is cleared
    await feeder.tick();
    expect((await getRun(ctx, run.id)).state).toBe("completed");
  });

  it(`ends an item job_failed with the error after ${JOB_FAILURE_LIMIT} failures without an outcome`, async () => {
    const run = await createRun(ctx, { modelVersion: "1.0.0", selection: { kind: "ids", ids: ["p12"] }, mode: "shadow" });
    await feeder.tick();
    await feeder.tick();
    for (let failure = 1; failure <= JOB_FAILURE_LIMIT; failure++) {
      await failTheJob("Connection terminated unexpectedly");
      await feeder.tick();
    }
    const row = await h.db.withSchema(h.schema).table("run_items").where({ run_id: run.id }).first();
    expect(row).toMatchObject({ state: "failed", reason: "job_failed", detail: "Connection terminated unexpectedly", job_failures: JOB_FAILURE_LIMIT });
  });

  it("leaves alone an item that finished while its job was being checked", async () => {
    const run = await createRun(ctx, { modelVersion: "1.0.0", selection: { kind: "ids", ids: ["p13"] }, mode: "shadow" });
    await feeder.tick();
    await feeder.tick();
    await failTheJob(STALL_LIMIT_REASON);
    await h.db.withSchema(h.schema).table("run_items").where({ run_id: run.id }).update({ state: "done" });
    expect(await settleLostJobs(ctx, run.id, [{ seq: 1, kind: "crashed" }])).toEqual({ requeue: [], ended: [] });
    expect(await item(run.id)).toMatchObject({ state: "done", crashes: 0 });
  });
});
