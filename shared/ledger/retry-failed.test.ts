import pino from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ConflictError, NotFoundError } from "../errors/index.js";
import { completeIfFinished, createRun, getRun, markEnqueued, snapshotChunk, transitionRun, type LedgerContext } from "./run-ledger.js";
import { createDescribeQueue, describeJobId } from "../queue/describe-queue.js";
import { createTestDb, type TestDb } from "../../test/helpers/postgres.js";
import { deletePrefix, testConnection, testQueuePrefix } from "../../test/helpers/redis.js";
import { writeOutcomes } from "./write-outcomes.js";
import { createDemoCatalogue } from "../../producers/demo/demo-catalogue-schema.js";
import { RunFeeder } from "../../producers/run-feeder.js";
import { retryFailed } from "./retry-failed.js";

let t: TestDb;
let ctx: LedgerContext;
const prefix = testQueuePrefix();
const queue = createDescribeQueue(testConnection(), prefix);

beforeAll(async () => {
  t = await createTestDb();
  await createDemoCatalogue(t.db, t.catalogueSchema);
  await t.db.withSchema(t.catalogueSchema).table("products").insert(["f1", "f2", "f3"].map((id) => ({ id, title: "x", category: "ring" })));
  ctx = t.ledger;
});
afterAll(async () => {
  await queue.close();
  await deletePrefix(prefix);
  await t?.drop();
});

/** A completed shadow run over f1..f3 whose f2 and f3 failed, all of it once enqueued. */
async function completedWithFailures() {
  const run = await createRun(ctx, { modelVersion: "1.0.0", selection: { kind: "ids", ids: ["f1", "f2", "f3"] }, mode: "shadow" });
  while ((await snapshotChunk(ctx, await getRun(ctx, run.id))) > 0);
  await transitionRun(ctx, run.id, "running");
  await markEnqueued(ctx, run.id, 3);
  await writeOutcomes(
    ctx,
    [
      { kind: "done", runId: run.id, productId: "f1", mode: "shadow", modelName: "m", modelVersion: "1.0.0", inputHash: "h", description: "d", attributes: { category: { label: "ring", confidence: 0.9 } }, review: { reasons: [] }, familiarity: null },
      { kind: "failed", runId: run.id, productId: "f2", reason: "photo_missing", detail: "0.jpg: missing" },
      { kind: "failed", runId: run.id, productId: "f3", reason: "object_timeout_exhausted" },
    ],
    { applyFunction: t.env.CATALOGUE_APPLY_FUNCTION, reviewThreshold: 0.6 },
  );
  expect(await completeIfFinished(ctx, run.id)).toBe(true);
  return run;
}

const items = async (runId: string) =>
  await t.db.withSchema(t.schema).table("run_items").where({ run_id: runId }).orderBy("seq").select("product_id", "state", "reason", "detail", "attempts");

describe("retryFailed (real Postgres and Redis)", () => {
  it("moves failed items back to pending, reopens the completed run, and the producer enqueues them again", async () => {
    const run = await completedWithFailures();
    const result = await retryFailed(ctx, run.id);
    expect(result).toMatchObject({ retried: 2, reopened: true, run: { id: run.id, state: "running", finished_at: null, enqueued_seq: 0 } });
    expect(await items(run.id)).toEqual([
      { product_id: "f1", state: "done", reason: null, detail: null, attempts: 0 },
      { product_id: "f2", state: "pending", reason: null, detail: null, attempts: 1 },
      { product_id: "f3", state: "pending", reason: null, detail: null, attempts: 1 },
    ]);

    const feeder = new RunFeeder({ ledger: ctx, queue, logger: pino({ level: "silent" }) });
    await feeder.tick();
    const jobs = (await queue.getJobs(["waiting", "prioritized"])).filter((j) => j !== undefined && j.data.runId === run.id);
    expect(jobs.map((j) => j.id).sort()).toEqual([describeJobId(run.id, 2), describeJobId(run.id, 3)]);
    expect((await getRun(ctx, run.id)).state).toBe("running"); // pending items keep it open

    // Nothing failed any more: a second retry changes nothing.
    expect(await retryFailed(ctx, run.id)).toMatchObject({ retried: 0, reopened: false, run: { state: "running", enqueued_seq: 3 } });
  });

  it("refuses a cancelled run and an unknown run id", async () => {
    const run = await completedWithFailures();
    await t.db.withSchema(t.schema).table("runs").where({ id: run.id }).update({ state: "cancelled" });
    await expect(retryFailed(ctx, run.id)).rejects.toThrow(/is cancelled/);
    await expect(retryFailed(ctx, run.id)).rejects.toThrow(ConflictError);
    expect((await items(run.id)).filter((i) => i.state === "failed")).toHaveLength(2);
    await expect(retryFailed(ctx, "run_nope")).rejects.toThrow(NotFoundError);
  });
});
