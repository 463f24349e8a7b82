import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { NotFoundError } from "../shared/errors/index.js";
import { createRun, transitionRun } from "../shared/ledger/run-ledger.js";
import { createTestDb, type TestDb } from "../test/helpers/postgres.js";
import { createRunStateCache } from "./run-state-cache.js";

let t: TestDb;
beforeAll(async () => {
  t = await createTestDb();
});
afterAll(async () => {
  await t?.drop();
});

/** Count the statements `fn` sends to Postgres. */
async function counting<T>(fn: () => Promise<T>): Promise<{ result: T; queries: number }> {
  let queries = 0;
  const listener = () => queries++;
  t.db.on("query", listener);
  try {
    return { result: await fn(), queries };
  } finally {
    t.db.off("query", listener);
  }
}

const newRun = () => createRun(t.ledger, { modelVersion: "1.0.0", selection: { kind: "all" }, mode: "shadow" });

describe("run state cache", () => {
  it("answers many jobs of one run with one read, and reads again once the entry is older than its ttl", async () => {
    const run = await newRun();
    const cache = createRunStateCache(t.ledger, 60_000);
    const first = await counting(() => Promise.all(Array.from({ length: 20 }, () => cache.get(run.id))));
    expect(first.queries).toBe(1);
    expect(first.result.every((r) => r.id === run.id && r.state === "snapshotting")).toBe(true);
    expect((await counting(() => cache.get(run.id))).queries).toBe(0);

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
    const { result, queries } = await counting(() => Promise.all([cache.fresh(run.id), cache.fresh(run.id), cache.get(run.id)]));
    expect(queries).toBe(1);
    expect(result.map((r) => r.state)).toEqual(["running", "running", "running"]);
  });

  it("does not keep a failed read: an unknown run is asked for again", async () => {
    const cache = createRunStateCache(t.ledger, 60_000);
    await expect(cache.get("run_nope")).rejects.toBeInstanceOf(NotFoundError);
    expect((await counting(() => cache.get("run_nope").catch(() => undefined))).queries).toBe(1);
  });
});
