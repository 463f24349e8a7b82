import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ConflictError, NotFoundError } from "../shared/errors/index.js";
import { createRun, getRun, snapshotChunk, type LedgerContext } from "../shared/ledger/run-ledger.js";
import type { RunMode } from "../shared/ledger/run.js";
import { createTestDb, type TestDb } from "../test/helpers/postgres.js";
import { writeOutcomes, type ApplySettings, type ItemOutcome } from "../shared/ledger/write-outcomes.js";
import { createDemoCatalogue } from "./demo/demo-catalogue-schema.js";
import { deleteProduct, lockProduct, markEdited } from "./demo/seed-demo-catalogue.js";
import { applyShadowRun } from "./run-apply.js";

let t: TestDb;
let ctx: LedgerContext;
let settings: ApplySettings;

beforeAll(async () => {
  t = await createTestDb();
  await createDemoCatalogue(t.db, t.catalogueSchema);
  await t.db.withSchema(t.catalogueSchema).table("products").insert(
    ["ok", "locked", "edited", "unsure", "gone"].map((id) => ({ id, title: "x", category: "ring", description: `artisan ${id}` })),
  );
  ctx = t.ledger;
  settings = { applyFunction: t.env.CATALOGUE_APPLY_FUNCTION, reviewThreshold: 0.6 };
});
afterAll(async () => {
  await t?.drop();
});

async function snapshotRun(mode: RunMode, ids: string[]) {
  const run = await createRun(ctx, { modelVersion: "1.0.0", selection: { kind: "ids", ids }, mode });
  while ((await snapshotChunk(ctx, await getRun(ctx, run.id))) > 0);
  return run;
}

function done(runId: string, productId: string, mode: RunMode, confidence = 0.9): ItemOutcome {
  return {
    kind: "done", runId, productId, mode, modelName: "facet-demo", modelVersion: "1.0.0", inputHash: "h", description: `${runId} says ${productId}`,
    attributes: { category: { label: "ring", confidence: 0.99 }, metal: { label: "copper", confidence } },
    // The worker's decision, as its review policy makes it at the test's threshold of 0.6.
    review: { reasons: confidence < 0.6 ? ["low_confidence"] : [] },
    familiarity: null,
  };
}

const texts = async () =>
  Object.fromEntries((await t.db.withSchema(t.catalogueSchema).table("products").orderBy("id").select("id", "description")).map((r) => [r.id, r.description]));
/** Everything apply may write, to show a second apply writes nothing. */
const ledgerState = async () => ({
  texts: await texts(),
  versions: await t.db.withSchema(t.schema).table("description_versions").orderBy("id").select("id", "status"),
  current: await t.db.withSchema(t.schema).table("current_descriptions").orderBy("product_id").select("*"),
});

describe("applyShadowRun (real Postgres)", () => {
  it("applies a shadow run's versions under apply mode's rules, in chunks, and a second apply changes nothing", async () => {
    // An earlier apply run wrote "edited"; the artisan rewrote it since: that text must stay.
    const earlier = await snapshotRun("apply", ["edited"]);
    expect(await writeOutcomes(ctx, [done(earlier.id, "edited", "apply")], settings)).toEqual({ applied: 1 });
    await markEdited(t.db, t.catalogueSchema, "edited", "the artisan's own words");
    await lockProduct(t.db, t.catalogueSchema, "locked", true);

    const shadow = await snapshotRun("shadow", ["ok", "locked", "edited", "unsure", "gone"]);
    const outcomes = ["ok", "locked", "edited", "gone"].map((id) => done(shadow.id, id, "shadow"));
    expect(await writeOutcomes(ctx, [...outcomes, done(shadow.id, "unsure", "shadow", 0.3)], settings)).toEqual({ generated: 5 });
    expect(await texts()).toMatchObject({ ok: "artisan ok", unsure: "artisan unsure" }); // shadow wrote nothing yet
    await deleteProduct(t.db, t.catalogueSchema, "gone");

    const chunks: number[] = [];
    const summary = await applyShadowRun({ ledger: ctx, apply: settings, chunkSize: 2, onChunk: (s) => chunks.push(s.processed) }, shadow.id);
    expect(summary).toEqual({ runId: shadow.id, processed: 5, statuses: { applied: 1, kept_locked: 1, kept_edited: 1, needs_review: 1, product_gone: 1 } });
    expect(chunks).toEqual([2, 4, 5]);
    expect(await texts()).toEqual({
      ok: `${shadow.id} says ok`,
      locked: "artisan locked",
      edited: "the artisan's own words",
      unsure: "artisan unsure",
      gone: "artisan gone",
    });
    const statuses = Object.fromEntries(
      (await t.db.withSchema(t.schema).table("description_versions").where({ run_id: shadow.id }).select("product_id", "status")).map((r) => [r.product_id, r.status]),
    );
    // A gone product's version stays generated: a later apply tries it again if it comes back.
    expect(statuses).toEqual({ ok: "applied", locked: "kept_locked", edited: "kept_edited", unsure: "needs_review", gone: "generated" });
    const current = await t.db.withSchema(t.schema).table("current_descriptions").where({ product_id: "ok" }).first();
    expect(current).toMatchObject({ run_id: shadow.id, description: `${shadow.id} says ok`, previous_description: "artisan ok", previous_version_id: null });

    const before = await ledgerState();
    const again = await applyShadowRun({ ledger: ctx, apply: settings }, shadow.id);
    expect(again).toEqual({ runId: shadow.id, processed: 1, statuses: { product_gone: 1 } });
    expect(await ledgerState()).toEqual(before);
  });

  it("refuses an apply-mode run and an unknown run id with a ConfigError", async () => {
    const applyRun = await snapshotRun("apply", ["ok"]);
    await expect(applyShadowRun({ ledger: ctx, apply: settings }, applyRun.id)).rejects.toThrow(ConflictError);
    await expect(applyShadowRun({ ledger: ctx, apply: settings }, applyRun.id)).rejects.toThrow(/is an apply run/);
    await expect(applyShadowRun({ ledger: ctx, apply: settings }, "run_nope")).rejects.toThrow(NotFoundError);
  });
});
