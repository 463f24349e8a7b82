import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createDemoCatalogue } from "../../producers/demo/demo-catalogue-schema.js";
import { createRun, getRun, runCounts, snapshotChunk, type LedgerContext } from "./run-ledger.js";
import type { RunMode } from "./run.js";
import { createTestDb, type TestDb } from "../../test/helpers/postgres.js";
import { writeOutcomes, type ItemOutcome } from "./write-outcomes.js";

let t: TestDb;
let ctx: LedgerContext;
const apply = () => ({ applyFunction: t.env.CATALOGUE_APPLY_FUNCTION, reviewThreshold: 0.6 });

beforeAll(async () => {
  t = await createTestDb();
  await createDemoCatalogue(t.db, t.catalogueSchema);
  await t.db.withSchema(t.catalogueSchema).table("products").insert([
    { id: "a", title: "x", category: "ring", description: "artisan a" },
    { id: "b", title: "x", category: "ring", description: "artisan b", locked: true },
    { id: "c", title: "x", category: "ring", description: "artisan c" },
    { id: "d", title: "x", category: "ring", description: "artisan d" },
  ]);
  ctx = t.ledger;
});
afterAll(async () => {
  await t?.drop();
});

async function snapshotRun(mode: RunMode, ids: string[]) {
  const run = await createRun(ctx, { modelVersion: "1.0.0", selection: { kind: "ids", ids }, mode });
  while ((await snapshotChunk(ctx, await getRun(ctx, run.id))) > 0);
  return run;
}

function done(runId: string, productId: string, text: string, confidence = 0.9, mode: RunMode = "apply"): ItemOutcome {
  return {
    kind: "done", runId, productId, mode, modelName: "facet-demo", modelVersion: "1.0.0", inputHash: "h", description: text,
    attributes: { category: { label: "ring", confidence: 0.99 }, metal: { label: "copper", confidence } },
    // The worker's decision, as its review policy makes it at the test's threshold of 0.6.
    review: { reasons: confidence < 0.6 ? ["low_confidence"] : [] },
    familiarity: null,
  };
}

const catalogueText = async (id: string) => (await t.db.withSchema(t.catalogueSchema).table("products").where({ id }).first()).description;

describe("writeOutcomes", () => {
  it("applies, keeps locked text, sends unsure results to review, and records failures, in one transaction", async () => {
    const run = await snapshotRun("apply", ["a", "b", "c", "d"]);
    const summary = await writeOutcomes(
      ctx,
      [
        done(run.id, "a", "Polished copper ring."),
        done(run.id, "b", "Polished copper ring."),
        done(run.id, "c", "Polished copper ring.", 0.3),
        { kind: "failed", runId: run.id, productId: "d", reason: "photo_corrupt", detail: "photo 1: bad" },
      ],
      apply(),
    );
    expect(summary).toEqual({ applied: 1, kept_locked: 1, needs_review: 1, failed: 1 });
    expect(await catalogueText("a")).toBe("Polished copper ring.");
    expect(await catalogueText("b")).toBe("artisan b");
    expect(await catalogueText("c")).toBe("artisan c");
    expect(await runCounts(ctx, run.id)).toMatchObject({ done: 3, failed: 1, pending: 0 });
    const current = await t.db.withSchema(t.schema).table("current_descriptions").where({ product_id: "a" }).first();
    expect(current.previous_description).toBe("artisan a");
  });

  it("writes a batch once however often it is delivered", async () => {
    const run = await snapshotRun("shadow", ["a", "c"]);
    const batch = [done(run.id, "a", "Shadow text.", 0.9, "shadow"), done(run.id, "c", "Shadow text.", 0.9, "shadow")];
    expect(await writeOutcomes(ctx, batch, apply())).toEqual({ generated: 2 });
    expect(await writeOutcomes(ctx, batch, apply())).toEqual({ already_finished: 2 });
    expect(await t.db.withSchema(t.schema).table("description_versions").where({ run_id: run.id }).count({ n: "*" }).first()).toEqual({ n: "2" });
    expect(await catalogueText("a")).toBe("Polished copper ring."); // shadow runs never touch the catalogue
  });

  it("never overwrites a description the artisan edited after the last generation", async () => {
    await t.db.withSchema(t.catalogueSchema).table("products").where({ id: "a" }).update({ description: "my own words", description_edited_at: t.db.fn.now() });
    const run = await snapshotRun("apply", ["a"]);
    expect(await writeOutcomes(ctx, [done(run.id, "a", "Hammered copper ring.")], apply())).toEqual({ kept_edited: 1 });
    expect(await catalogueText("a")).toBe("my own words");
  });
});
