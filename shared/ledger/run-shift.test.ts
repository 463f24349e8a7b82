import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createDemoCatalogue } from "../../producers/demo/demo-catalogue-schema.js";
import { createRun, getRun, snapshotChunk, type LedgerContext } from "./run-ledger.js";
import type { RunMode } from "./run.js";
import { createTestDb, type TestDb } from "../../test/helpers/postgres.js";
import { writeOutcomes, type ItemOutcome } from "./write-outcomes.js";
import { SHIFT_MIN_PRODUCTS } from "../../models/runtime/run-shift.js";
import { releaseHeldAtCompletion } from "./run-shift.js";

let t: TestDb;
let ctx: LedgerContext;
const apply = () => ({ applyFunction: t.env.CATALOGUE_APPLY_FUNCTION, reviewThreshold: 0.6 });
const ids = (prefix: string, n: number) => Array.from({ length: n }, (_, i) => `${prefix}${String(i).padStart(4, "0")}`);

beforeAll(async () => {
  t = await createTestDb();
  await createDemoCatalogue(t.db, t.catalogueSchema);
  const products = ["s", "f", "m", "c", "w"].flatMap((p) => ids(p, 260));
  await t.db.withSchema(t.catalogueSchema).table("products").insert(products.map((id) => ({ id, title: "x", category: "ring", description: `artisan ${id}` })));
  ctx = t.ledger;
});
afterAll(async () => {
  await t?.drop();
});

async function snapshotRun(mode: RunMode, productIds: string[]) {
  const run = await createRun(ctx, { modelVersion: "1.0.0", selection: { kind: "ids", ids: productIds }, mode });
  while ((await snapshotChunk(ctx, await getRun(ctx, run.id))) > 0);
  return run;
}

/** A confident result whose shift signal is `unusual`, against a bundle whose validation share is `baseline`. */
function done(runId: string, productId: string, unusual: boolean, mode: RunMode, baseline = 0.03): ItemOutcome {
  return {
    kind: "done", runId, productId, mode, modelName: "facet-demo", modelVersion: "1.0.0", inputHash: "h", description: "Polished copper ring.",
    attributes: { category: { label: "ring", confidence: 0.99 } }, review: { reasons: [] }, familiarity: 0.5, shift: { unusual, baseline },
  };
}

async function writeInBatches(runId: string, productIds: string[], unusual: (i: number) => boolean, mode: RunMode, baseline?: number) {
  const summaries = [];
  for (let i = 0; i < productIds.length; i += 16) {
    const batch = productIds.slice(i, i + 16).map((id, j) => done(runId, id, unusual(i + j), mode, baseline));
    summaries.push(await writeOutcomes(ctx, batch, apply()));
  }
  return summaries;
}

const statuses = async (runId: string) =>
  Object.fromEntries(
    (await t.db.withSchema(t.schema).table("description_versions").where({ run_id: runId }).groupBy("status").select("status").count({ n: "*" })).map((r) => [r.status, Number(r.n)]),
  );
const catalogueChanged = async (prefix: string) =>
  Number((await t.db.withSchema(t.catalogueSchema).table("products").whereLike("id", `${prefix}%`).whereNot("description", "like", "artisan%").count({ n: "*" }).first())?.n);

describe("the run-level shift gate in the ledger", () => {
  it("holds an apply run's first results, then sends the whole run to review when its photos as a whole are unusual", async () => {
    const products = ids("s", 150);
    const run = await snapshotRun("apply", products);
    const summaries = await writeInBatches(run.id, products, (i) => i % 4 === 0, "apply"); // 25% unusual vs 3% on validation
    expect(summaries[0]).toEqual({ held: 16 });
    expect(summaries.some((s) => s.run_shifted === 1)).toBe(true);
    expect(await statuses(run.id)).toEqual({ needs_review: 150 });
    expect(await catalogueChanged("s")).toBe(0);
    const v = await t.db.withSchema(t.schema).table("description_versions").where({ run_id: run.id }).orderBy("id").first();
    expect(v.review_reasons).toEqual(["unfamiliar_photo"]);
    expect(v.review_detail.run_shift).toMatchObject({ baseline: 0.03 });
    const row = await t.db.withSchema(t.schema).table("runs").where({ id: run.id }).first();
    expect(row).toMatchObject({ shift_products: 150, shift_unusual: 38 });
    expect(row.shifted_at).not.toBeNull();
  });

  it("releases the held results once the run has shown it is familiar, and applies the rest as they come", async () => {
    const products = ids("f", 250);
    const run = await snapshotRun("apply", products);
    const summaries = await writeInBatches(run.id, products, (i) => i % 33 === 0, "apply"); // 3% unusual
    const crossing = Math.ceil(SHIFT_MIN_PRODUCTS / 16) - 1;
    expect(summaries.slice(0, crossing).every((s) => Object.keys(s).join() === "held")).toBe(true);
    expect(summaries[crossing]).toEqual({ applied: 16 * (crossing + 1) });
    expect(summaries.at(-1)).toEqual({ applied: 250 % 16 });
    expect(await statuses(run.id)).toEqual({ applied: 250 });
    expect(await catalogueChanged("f")).toBe(250);
  });

  it("applies a small run's held results when its last result is written, even from two writers at once", async () => {
    const products = ids("m", 40);
    const run = await snapshotRun("apply", products);
    await writeInBatches(run.id, products.slice(0, 24), () => false, "apply");
    expect(await statuses(run.id)).toEqual({ held: 24 });
    // The last 16 from two workers at once: one of them sees the run fully written and releases everything.
    await Promise.all([
      writeOutcomes(ctx, products.slice(24, 32).map((id) => done(run.id, id, false, "apply")), apply()),
      writeOutcomes(ctx, [...products.slice(32, 39).map((id) => done(run.id, id, false, "apply")), { kind: "failed", runId: run.id, productId: products[39] as string, reason: "photo_corrupt" }], apply()),
    ]);
    expect(await statuses(run.id)).toEqual({ applied: 39 });
  });

  it("applies what a run still holds when it completes after an outcome recorded outside the writer", async () => {
    const products = ids("m", 50).slice(40);
    const run = await snapshotRun("apply", products);
    await writeInBatches(run.id, products.slice(0, 9), () => false, "apply");
    // The last item ends failed by the lost-job healer (a poison pill), not by a writer.
    await t.db.withSchema(t.schema).table("run_items").where({ run_id: run.id, product_id: products[9] }).update({ state: "failed", reason: "worker_crashed" });
    expect(await statuses(run.id)).toEqual({ held: 9 });
    expect(await releaseHeldAtCompletion(ctx, run.id, apply())).toEqual({ applied: 9 });
    expect(await statuses(run.id)).toEqual({ applied: 9 });
  });

  it("marks a shifted shadow run's results so that `run apply` sends them to review", async () => {
    const products = ids("c", 120);
    const run = await snapshotRun("shadow", products);
    await writeInBatches(run.id, products, (i) => i % 2 === 0, "shadow");
    const versions = await t.db.withSchema(t.schema).table("description_versions").where({ run_id: run.id }).select("status", "review_reasons");
    expect(versions).toHaveLength(120);
    expect(versions.every((v) => v.status === "generated" && v.review_reasons.includes("unfamiliar_photo"))).toBe(true);
  });

  it("leaves a run alone whose bundle has no shift baseline", async () => {
    const products = ids("w", 20);
    const run = await snapshotRun("apply", products);
    const outcomes = products.map((id) => ({ ...done(run.id, id, true, "apply"), shift: null }));
    expect(await writeOutcomes(ctx, outcomes, apply())).toEqual({ applied: 20 });
  });
});
