import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDb, type TestDb } from "../../test/helpers/postgres.js";
import { createDemoCatalogue } from "../../producers/demo/demo-catalogue-schema.js";
import { createRun, getRun, snapshotChunk, type LedgerContext } from "./run-ledger.js";
import { writeOutcomes } from "./write-outcomes.js";
import { chargeDecodeCrash } from "./decode-crashes.js";

let t: TestDb;
let ctx: LedgerContext;

beforeAll(async () => {
  t = await createTestDb();
  await createDemoCatalogue(t.db, t.catalogueSchema);
  await t.db.withSchema(t.catalogueSchema).table("products").insert(["p1", "p2"].map((id) => ({ id, title: "x", category: "ring" })));
  ctx = t.ledger;
});
afterAll(async () => {
  await t?.drop();
});

describe("chargeDecodeCrash", () => {
  it("charges each journal entry once, and nothing to an item no longer pending", async () => {
    const run = await createRun(ctx, { modelVersion: "1.0.0", selection: { kind: "ids", ids: ["p1", "p2"] }, mode: "shadow" });
    while ((await snapshotChunk(ctx, await getRun(ctx, run.id))) > 0);
    expect(await chargeDecodeCrash(ctx, run.id, "p1", "job.1@1")).toBe(1);
    // The worker that charged it died before clearing the entry: the next one finds the same mark.
    expect(await chargeDecodeCrash(ctx, run.id, "p1", "job.1@1")).toBe(1);
    expect(await chargeDecodeCrash(ctx, run.id, "p1", "job.1@3")).toBe(2);
    await writeOutcomes(ctx, [{ kind: "failed", runId: run.id, productId: "p2", reason: "photo_missing" }], { applyFunction: "", reviewThreshold: 0.6 });
    expect(await chargeDecodeCrash(ctx, run.id, "p2", "job.2@1")).toBeUndefined();
    expect(await chargeDecodeCrash(ctx, run.id, "nope", "job.3@1")).toBeUndefined();
  });
});
