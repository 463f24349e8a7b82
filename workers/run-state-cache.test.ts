import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { NotFoundError } from "../shared/errors/index.js";
import { createRun, transitionRun } from "../shared/ledger/run-ledger.js";
import { countingQueries, createTestDb, type TestDb } from "../test/helpers/postgres.js";
import { createRunStateCache } from "./run-state-cache.js";

let t: TestDb;
beforeAll(async () => {
  t = await createTestDb();
});
afterAll(async () => {
  await t?.drop();
});

const newRun = () => createRun(t.ledger, { modelVersion: "1.0.0", selection: { kind: "all" }, mode: "shadow" });

describe("run state cache", () => {
  it("answers many jobs of one run with one read, and reads again once the entry is older than its ttl", async () => {
    const run = await newRun();
    const cache = createRunStateCache(t.ledger, 60_000);
    const first = await countingQueries(t.db, () => Promise.all(Array.from({ length: 20 }, () => cache.get(run.id))));
    expect(first.queries).toBe(1);
    expect(first.result.every((r) => r.id === run.id && r.state === "snapshotting")).toBe(true);
    expect((await countingQueries(t.db, () => cache.get(run.id))).queries).toBe(0);

    const stale = createRunStateCache(t.ledger, 0);
    await stale.get(run.id);
    await transitionRun(t.ledger, run.id, "running");
    expect((await stale.get(run.id)).state).toBe("running");
  });

  it("fresh() reads past the cache, and concurrent fresh() calls share that read", async () => {
    const run = await newRun();
    const cache = createRunStateCache(t.ledger, 60_000);
    expect((await cache.get(run.id)).state).toBe("snapshotting");
    await transitionRun(t.ledger, run.id, "running");
    const { result, queries } = await countingQueries(t.db, () => Promise.all([cache.fresh(run.id), cache.fresh(run.id), cache.get(run.id)]));
    expect(queries).toBe(1);
    expect(result.map((r) => r.state)).toEqual(["running", "running", "running"]);
  });

  it("does not keep a failed read: an unknown run is asked for again", async () => {
    const cache = createRunStateCache(t.ledger, 60_000);
    await expect(cache.get("run_nope")).rejects.toBeInstanceOf(NotFoundError);
    expect((await countingQueries(t.db, () => cache.get("run_nope").catch(() => undefined))).queries).toBe(1);
  });
});
