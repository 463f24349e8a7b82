import pino from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createDemoCatalogue } from "./demo/demo-catalogue-schema.js";
import { createRun, getRun, runCounts, type LedgerContext } from "../shared/ledger/run-ledger.js";
import { createDescribeQueue, describeJobId } from "../shared/queue/describe-queue.js";
import { createTestDb, type TestDb } from "../test/helpers/postgres.js";
import { deletePrefix, testConnection, testQueuePrefix, waitFor } from "../test/helpers/redis.js";
import { requeueLost, RunFeeder } from "./run-feeder.js";

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
