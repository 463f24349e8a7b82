import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ConflictError, NotFoundError } from "../shared/errors/index.js";
import { createRun, getRun, snapshotChunk, transitionRun, type LedgerContext } from "../shared/ledger/run-ledger.js";
import type { RunMode } from "../shared/ledger/run.js";
import { createTestDb, type TestDb } from "../test/helpers/postgres.js";
import { writeOutcomes, type ApplySettings, type ItemOutcome } from "../shared/ledger/write-outcomes.js";
import { createDemoCatalogue } from "./demo/demo-catalogue-schema.js";
import { lockProduct, markEdited } from "./demo/seed-demo-catalogue.js";
import { applyShadowRun } from "./run-apply.js";
import { rollbackRun } from "./run-rollback.js";

let t: TestDb;
let ctx: LedgerContext;
let settings: ApplySettings;

/** Texts a rollback must give back byte for byte: odd whitespace, non-ASCII, and none at all. */
const ORIGINAL: Record<string, string | null> = {
  r1: "orig r1",
  r2: "orig r2",
  r3: "orig r3",
  r4: "  Bague « martelée » en cuivre — 925‰\n\tfaite main. ",
  r5: null,
};

beforeAll(async () => {
  t = await createTestDb();
  await createDemoCatalogue(t.db, t.catalogueSchema);
  await t.db.withSchema(t.catalogueSchema).table("products").insert(Object.entries(ORIGINAL).map(([id, description]) => ({ id, title: "x", category: "ring", description })));
  ctx = t.ledger;
  settings = { applyFunction: t.env.CATALOGUE_APPLY_FUNCTION, reviewThreshold: 0.6 };
});
afterAll(async () => {
  await t?.drop();
});

async function finishedRun(mode: RunMode, ids: string[]) {
  const run = await createRun(ctx, { modelVersion: "1.0.0", selection: { kind: "ids", ids }, mode });
  while ((await snapshotChunk(ctx, await getRun(ctx, run.id))) > 0);
  const outcomes: ItemOutcome[] = ids.map((productId) => ({
    kind: "done", runId: run.id, productId, mode, modelName: "facet-demo", modelVersion: "1.0.0", inputHash: "h", description: `${run.id} says ${productId}`,
    attributes: { category: { label: "ring", confidence: 0.99 } },
    review: { reasons: [] },
    familiarity: null,
  }));
  await writeOutcomes(ctx, outcomes, settings);
  await transitionRun(ctx, run.id, "running");
  await transitionRun(ctx, run.id, "completed");
  return run;
}

const texts = async () =>
  Object.fromEntries((await t.db.withSchema(t.catalogueSchema).table("products").orderBy("id").select("id", "description")).map((r) => [r.id, r.description]));
const current = async () =>
  Object.fromEntries((await t.db.withSchema(t.schema).table("current_descriptions").orderBy("product_id").select("*")).map((r) => [r.product_id, r]));
const statuses = async (runId: string) =>
  Object.fromEntries((await t.db.withSchema(t.schema).table("description_versions").where({ run_id: runId }).select("product_id", "status")).map((r) => [r.product_id, r.status]));

describe("rollbackRun (real Postgres)", () => {
  it("restores the previous text exactly, leaves what the artisan edited or locked since, and is idempotent", async () => {
    // Run A applied r1..r3; shadow run B, applied later, replaced A's text there and the artisans' on r4 and r5.
    const a = await finishedRun("apply", ["r1", "r2", "r3"]);
    const b = await finishedRun("shadow", ["r1", "r2", "r3", "r4", "r5"]);
    expect((await applyShadowRun({ ledger: ctx, apply: settings }, b.id)).statuses).toEqual({ applied: 5 });
    const versionA = Number((await t.db.withSchema(t.schema).table("description_versions").where({ run_id: a.id, product_id: "r1" }).first()).id);
    await markEdited(t.db, t.catalogueSchema, "r2", "the artisan rewrote it after B");
    await lockProduct(t.db, t.catalogueSchema, "r3", true);

    const summary = await rollbackRun({ ledger: ctx, applyFunction: settings.applyFunction, chunkSize: 2 }, b.id);
    expect(summary).toEqual({ runId: b.id, processed: 5, outcomes: { rolled_back: 3, kept_edited: 1, kept_locked: 1 } });
    expect(await texts()).toEqual({
      r1: `${a.id} says r1`,
      r2: "the artisan rewrote it after B",
      r3: `${b.id} says r3`,
      r4: ORIGINAL.r4,
      r5: null,
    });
    expect(await statuses(b.id)).toEqual({ r1: "rolled_back", r2: "applied", r3: "applied", r4: "rolled_back", r5: "rolled_back" });
    const rows = await current();
    // r1 points at A's version again; r4 and r5 had nothing from Facet before B: their rows are gone.
    expect(rows.r1).toMatchObject({ version_id: String(versionA), run_id: a.id, description: `${a.id} says r1`, previous_version_id: String(versionA) });
    expect(rows.r2).toMatchObject({ run_id: b.id });
    expect(rows.r3).toMatchObject({ run_id: b.id });
    expect(rows.r4).toBeUndefined();
    expect(rows.r5).toBeUndefined();

    // Again: the kept ones are looked at and left; nothing changes.
    const before = { texts: await texts(), current: await current(), statuses: await statuses(b.id) };
    expect(await rollbackRun({ ledger: ctx, applyFunction: settings.applyFunction }, b.id)).toEqual({
      runId: b.id, processed: 2, outcomes: { kept_edited: 1, kept_locked: 1 },
    });
    expect({ texts: await texts(), current: await current(), statuses: await statuses(b.id) }).toEqual(before);

    // Rolling back A now: r1's text before A is no longer in the ledger, so it is left as it
    // is rather than overwritten with a guess; r2 and r3 belong to B, not A.
    expect(await rollbackRun({ ledger: ctx, applyFunction: settings.applyFunction }, a.id)).toEqual({
      runId: a.id, processed: 1, outcomes: { previous_unknown: 1 },
    });
    expect((await texts()).r1).toBe(`${a.id} says r1`);
  });

  it("refuses an apply run still in flight, and an unknown run id", async () => {
    const run = await createRun(ctx, { modelVersion: "1.0.0", selection: { kind: "ids", ids: ["r1"] }, mode: "apply" });
    await expect(rollbackRun({ ledger: ctx, applyFunction: settings.applyFunction }, run.id)).rejects.toThrow(ConflictError);
    await transitionRun(ctx, run.id, "cancelled");
    expect(await rollbackRun({ ledger: ctx, applyFunction: settings.applyFunction }, run.id)).toEqual({ runId: run.id, processed: 0, outcomes: {} });
    await expect(rollbackRun({ ledger: ctx, applyFunction: settings.applyFunction }, "run_nope")).rejects.toThrow(NotFoundError);
  });
});
