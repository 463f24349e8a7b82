import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createDemoCatalogue } from "../../producers/demo/demo-catalogue-schema.js";
import { createTestDb, type TestDb } from "../../test/helpers/postgres.js";
import { ConflictError, NotFoundError } from "../errors/index.js";
import {
  completeIfFinished, createRun, getRun, handBackPausedItem, markEnqueued, pendingItemsAfter, runCounts, snapshotChunk, transitionRun, type LedgerContext,
} from "./run-ledger.js";
import type { Selection } from "./selection.js";

let t: TestDb;
let ctx: LedgerContext;

beforeAll(async () => {
  t = await createTestDb();
  await createDemoCatalogue(t.db, t.catalogueSchema);
  const rows = Array.from({ length: 20 }, (_, i) => ({
    id: `p${String(i).padStart(3, "0")}`,
    title: "x",
    category: i % 2 ? "ring" : "necklace",
    photo_keys: [`p${i}/1.jpg`],
    updated_at: new Date(Date.UTC(2026, 0, 1 + i)),
  }));
  rows.push({ id: "p'; drop table runs; --", title: "x", category: "ring'--", photo_keys: [], updated_at: new Date(Date.UTC(2026, 0, 1)) });
  await t.db.withSchema(t.catalogueSchema).table("products").insert(rows);
  ctx = t.ledger;
});
afterAll(async () => {
  await t?.drop();
});

async function snapshotAll(selection: Selection, chunk = 7) {
  const run = await createRun(ctx, { modelVersion: "1.0.0", selection, mode: "shadow" });
  let chunks = 0;
  while ((await snapshotChunk(ctx, await getRun(ctx, run.id), chunk)) > 0) chunks++;
  return { run: await getRun(ctx, run.id), chunks };
}

describe("run ledger", () => {
  it("snapshots a selection in keyset chunks, numbering items in product order", async () => {
    const { run, chunks } = await snapshotAll({ kind: "all" });
    expect(run.total).toBe(21);
    expect(run.snapshot_complete).toBe(true);
    expect(chunks).toBe(3);
    const items = await pendingItemsAfter(ctx, run.id, 0, 100);
    expect(items.map((i) => i.seq)).toEqual(Array.from({ length: 21 }, (_, i) => i + 1));
    expect(items[0]?.productId).toBe("p'; drop table runs; --"); // stored as data, sorted first
  });

  it("selects by category, id list and date with bound values", async () => {
    expect((await snapshotAll({ kind: "category", category: "ring" })).run.total).toBe(10);
    expect((await snapshotAll({ kind: "category", category: "ring'--" })).run.total).toBe(1);
    expect((await snapshotAll({ kind: "ids", ids: ["p001", "p002", "nope", "p'; drop table runs; --"] })).run.total).toBe(3);
    expect((await snapshotAll({ kind: "updated_since", since: "2026-01-15T00:00:00Z" })).run.total).toBe(6);
  });

  it("selects products changed since the last completed run started", async () => {
    const first = await snapshotAll({ kind: "changed_since_last_success" });
    expect(first.run.total).toBe(21); // nothing completed yet: everything
    await transitionRun(ctx, first.run.id, "running");
    await t.db.withSchema(t.schema).table("run_items").where({ run_id: first.run.id }).update({ state: "done" });
    expect(await completeIfFinished(ctx, first.run.id)).toBe(true);
    await t.db.withSchema(t.catalogueSchema).table("products").whereIn("id", ["p003", "p004"]).update({ updated_at: t.db.fn.now() });
    expect((await snapshotAll({ kind: "changed_since_last_success" })).run.total).toBe(2);
  });

  it("counts items by state, completes only when nothing is pending, and refuses bad transitions", async () => {
    const { run } = await snapshotAll({ kind: "category", category: "necklace" });
    await transitionRun(ctx, run.id, "running");
    await t.db.withSchema(t.schema).table("run_items").where({ run_id: run.id }).where("seq", "<=", 3).update({ state: "failed", reason: "photo_corrupt" });
    expect(await runCounts(ctx, run.id)).toEqual({ total: 10, pending: 7, done: 0, failed: 3, skipped: 0 });
    expect(await completeIfFinished(ctx, run.id)).toBe(false);
    await markEnqueued(ctx, run.id, 5);
    await markEnqueued(ctx, run.id, 2);
    expect((await getRun(ctx, run.id)).enqueued_seq).toBe(5);
    // A paused run's item handed back by a worker moves the cursor back before it, never forward.
    await handBackPausedItem(ctx, run.id, 4);
    await handBackPausedItem(ctx, run.id, 5);
    expect((await getRun(ctx, run.id)).enqueued_seq).toBe(3);
    await transitionRun(ctx, run.id, "cancelled");
    await expect(transitionRun(ctx, run.id, "running")).rejects.toThrow(ConflictError);
    await expect(transitionRun(ctx, run.id, "running")).rejects.toThrow(`run ${run.id} is cancelled; it cannot become running`);
  });

  it("refuses an unknown run id and an invalid selection", async () => {
    await expect(getRun(ctx, "run_nope")).rejects.toThrow(NotFoundError);
    await expect(getRun(ctx, "run_nope")).rejects.toThrow("unknown run id 'run_nope'");
    await expect(createRun(ctx, { modelVersion: "1", selection: { kind: "updated_since", since: "yesterday" } as Selection, mode: "apply" })).rejects.toThrow(
      /^selection\.since: /,
    );
  });
});
