import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createDemoCatalogue } from "../../producers/demo/demo-catalogue-schema.js";
import { createRun, getRun, snapshotChunk, type LedgerContext } from "./run-ledger.js";
import { countingQueries, createTestDb, type TestDb } from "../../test/helpers/postgres.js";
import { createItemLookup } from "./item-lookup.js";

let t: TestDb;
let ctx: LedgerContext;
let runId: string;

beforeAll(async () => {
  t = await createTestDb();
  await createDemoCatalogue(t.db, t.catalogueSchema);
  await t.db.withSchema(t.catalogueSchema).table("products").insert([
    { id: "a", title: "x", category: "ring", photo_keys: ["a/1.jpg", "a/2.jpg"], description: "925 silver ring" },
    { id: "b", title: "x", category: "ring", photo_keys: ["b/1.jpg"] },
    { id: "c", title: "x", category: "ring", photo_keys: [] },
  ]);
  ctx = t.ledger;
  const run = await createRun(ctx, { modelVersion: "1.0.0", selection: { kind: "ids", ids: ["a", "b", "c"] }, mode: "shadow" });
  while ((await snapshotChunk(ctx, await getRun(ctx, run.id))) > 0);
  runId = run.id;
});
afterAll(async () => {
  await t?.drop();
});

describe("item lookup", () => {
  it("answers lookups made together with one query, each with its own item", async () => {
    const lookup = createItemLookup(ctx);
    const { result, queries } = await countingQueries(t.db, () =>
      Promise.all([lookup.load(runId, "a"), lookup.load(runId, "b"), lookup.load(runId, "c"), lookup.load(runId, "zz"), lookup.load("run_none", "a")]),
    );
    expect(queries).toBe(1);
    expect(result).toEqual([
      { state: "pending", present: true, photoKeys: ["a/1.jpg", "a/2.jpg"], seller: { text: "925 silver ring", category: "ring" }, crashes: 0 },
      { state: "pending", present: true, photoKeys: ["b/1.jpg"], seller: { text: null, category: "ring" }, crashes: 0 },
      { state: "pending", present: true, photoKeys: [], seller: { text: null, category: "ring" }, crashes: 0 },
      undefined,
      undefined,
    ]);
  });

  it("reads the ledger as it is now: a finished item and a deleted product are seen", async () => {
    const lookup = createItemLookup(ctx);
    expect((await lookup.load(runId, "a"))?.state).toBe("pending");
    await t.db.withSchema(t.schema).table("run_items").where({ run_id: runId, product_id: "a" }).update({ state: "done" });
    await t.db.withSchema(t.catalogueSchema).table("products").where({ id: "b" }).delete();
    expect(await lookup.load(runId, "a")).toMatchObject({ state: "done" });
    expect(await lookup.load(runId, "b")).toEqual({ state: "pending", present: false, photoKeys: [], seller: { text: null, category: null }, crashes: 0 });
  });

  it("reads the seller's facts from the artisan's words, not from the text Facet applied", async () => {
    const [version] = await t.db.withSchema(t.schema).table("description_versions").insert({
      run_id: runId, product_id: "c", model_name: "m", model_version: "1.0.0", input_hash: "h", description: "Polished copper ring.",
      attributes: {}, min_confidence: 1, status: "applied",
    }).returning("id");
    await t.db.withSchema(t.schema).table("current_descriptions").insert({
      product_id: "c", version_id: (version as { id: number }).id, run_id: runId, description: "Polished copper ring.",
      previous_description: "hand made silver ring", artisan_description: "hand made silver ring",
    });
    await t.db.withSchema(t.catalogueSchema).table("products").where({ id: "c" }).update({ description: "Polished copper ring." });
    expect((await createItemLookup(ctx).load(runId, "c"))?.seller.text).toBe("hand made silver ring");
    // Once the artisan writes again, their new words are the facts.
    await t.db.withSchema(t.catalogueSchema).table("products").where({ id: "c" }).update({ description: "gold ring" });
    expect((await createItemLookup(ctx).load(runId, "c"))?.seller.text).toBe("gold ring");
  });

  it("splits a burst larger than maxBatch into several queries", async () => {
    const lookup = createItemLookup(ctx, { maxBatch: 2 });
    const { result, queries } = await countingQueries(t.db, () => Promise.all(["a", "b", "c", "a", "c"].map((id) => lookup.load(runId, id))));
    expect(queries).toBe(3);
    expect(result.map((r) => r?.state)).toEqual(["done", "pending", "pending", "done", "pending"]);
  });

  it("rejects every lookup that shared a failed query, with Postgres's error", async () => {
    const lookup = createItemLookup({ ...ctx, catalogue: `${t.catalogueSchema}.no_such_view` });
    const results = await Promise.allSettled([lookup.load(runId, "a"), lookup.load(runId, "c")]);
    for (const r of results) {
      expect(r.status).toBe("rejected");
      expect((r as PromiseRejectedResult).reason).toMatchObject({ code: "42P01" });
    }
  });
});
