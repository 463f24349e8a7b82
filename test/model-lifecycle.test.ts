/**
 * The model lifecycle on a marketplace's own data, through the real `facet` CLI: a demo catalogue
 * in Postgres with photos in an S3-compatible server → `facet dataset export --catalogue` →
 * `facet model train` (a few steps) → `facet model evaluate` → `facet model publish` → a shadow
 * run with the new version (real producer and worker processes) → `facet run compare` →
 * `facet run apply`. And a result that contradicts what the seller wrote ends `needs_review` with
 * `contradicts_seller`. Needs Debian's python3-torch (.ci/run installs it).
 */
import { createHash } from "node:crypto";
import { cp, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DEMO_MODEL_DIR } from "../cli/commands/describe.js";
import { createDemoCatalogue } from "../producers/demo/demo-catalogue-schema.js";
import { seedDemoCatalogue } from "../producers/demo/seed-demo-catalogue.js";
import { getRun } from "../shared/ledger/run-ledger.js";
import { openWritableObjectStore } from "../shared/storage/object-store.js";
import { runFacet, spawnFacet, type FacetProcess } from "./helpers/facet-process.js";
import { createTestDb, type TestDb } from "./helpers/postgres.js";
import { pythonTorchMissing } from "./helpers/python.js";
import { startPrivateRedis, type PrivateRedis } from "./helpers/redis-server.js";
import { waitFor } from "./helpers/redis.js";
import { startS3, type TestS3 } from "./helpers/s3-server.js";

const missing = pythonTorchMissing();
if (missing) console.warn(`skipping the model lifecycle test: ${missing}`);

const PRODUCTS = 48;
let t: TestDb;
let redis: PrivateRedis;
let s3: TestS3;
let tmp: string;
let env: Record<string, string>;
const processes: FacetProcess[] = [];

const facet = async (...args: string[]) => {
  const r = await runFacet(args, { ...process.env, ...env });
  return { ...r, output: `${r.stdout}${r.stderr}` };
};

async function filesHash(dir: string): Promise<string> {
  const h = createHash("sha256");
  for (const name of (await readdir(dir)).sort()) h.update(name).update(await readFile(path.join(dir, name)));
  return h.digest("hex");
}

/** Start a run, let a producer and a worker finish it, return its id. */
async function completedRun(model: string, mode: "shadow" | "apply"): Promise<string> {
  const started = await facet("run", "start", "--all", "--model", model, "--mode", mode, "--json");
  expect(started.code, started.output).toBe(0);
  const runId = JSON.parse(started.stdout).id as string;
  await waitFor(`run ${runId} completed`, async () => (await getRun(t.ledger, runId)).state === "completed", 180_000);
  return runId;
}

describe.skipIf(missing !== undefined)("the model lifecycle on the marketplace's own data", () => {
  beforeAll(async () => {
    [t, redis, s3, tmp] = await Promise.all([createTestDb(), startPrivateRedis(), startS3(), mkdtemp(path.join(os.tmpdir(), "facet-lifecycle-"))]);
    await s3.createBucket("shop");
    await createDemoCatalogue(t.db, t.catalogueSchema);
    await seedDemoCatalogue({ db: t.db, schema: t.catalogueSchema, imageStore: openWritableObjectStore("s3://shop/photos", { ...s3.settings, access: "photos" }), seed: 31, products: PRODUCTS });
    await mkdir(path.join(tmp, "models"), { recursive: true });
    env = {
      ...t.env,
      REDIS_URL: redis.url,
      QUEUE_PREFIX: "facet-lifecycle",
      IMAGE_STORE: "s3://shop/photos",
      LABELS_RELATION: `${t.catalogueSchema}.product_labels`,
      S3_ENDPOINT: s3.endpoint,
      S3_FORCE_PATH_STYLE: "true",
      AWS_ACCESS_KEY_ID: "S3RVER",
      AWS_SECRET_ACCESS_KEY: "S3RVER",
      MODEL_STORE: pathToFileURL(path.join(tmp, "models")).href,
      MODEL_CACHE_DIR: path.join(tmp, "model-cache"),
      WORKER_PRELOAD_MODEL: "",
      METRICS_PORT: "0",
      BATCH_MAX_WAIT_MS: "50",
      INFERENCE_THREADS: "1",
      SHUTDOWN_DEADLINE_MS: "5000",
      LOG_LEVEL: "warn",
    };
    const migrated = await facet("db", "migrate");
    expect(migrated.code, migrated.output).toBe(0);
    processes.push(spawnFacet(["producer"], env), spawnFacet(["worker"], env));
  }, 120_000);
  afterAll(async () => {
    for (const p of processes) p.proc.kill("SIGTERM");
    await Promise.all(processes.map((p) => p.exited));
    await Promise.all([t?.drop(), redis?.stop(), s3?.close()]);
    await rm(tmp, { recursive: true, force: true });
  });

  it("exports the catalogue, trains, evaluates, publishes, runs a shadow run, compares and applies", async () => {
    const data = path.join(tmp, "data");
    const exported = await facet("dataset", "export", "--catalogue", "--image-size", "64", "--out", data);
    expect(exported.code, exported.output).toBe(0);
    expect(exported.output).toMatch(new RegExp(`wrote ${PRODUCTS} products`));
    const dataset = JSON.parse(await readFile(path.join(data, "dataset.json"), "utf8"));
    expect(dataset.source).toMatchObject({ kind: "catalogue", labels: `${t.catalogueSchema}.product_labels` });
    expect(dataset.attributes.map((a: { name: string }) => a.name)).toEqual(["category", "metal", "gemstone", "finish", "setting", "style"]);
    const first = JSON.parse((await readFile(path.join(data, "items.jsonl"), "utf8")).split("\n")[0] as string);
    expect(first.reference).toMatch(/\.$/); // house style, built from the labels
    expect(first.artisan).toBeTruthy(); // the artisan's text, kept beside it

    const out = path.join(tmp, "trained");
    const trained = await facet("model", "train", "--data", data, "--out", out, "--backbone", "scratch", "--max-steps", "3", "--batch-size", "8");
    expect(trained.code, trained.output).toBe(0);
    expect(trained.output).toMatch(/export verified/);
    const bundle = path.join(out, "bundle");

    const before = await filesHash(bundle);
    const evaluated = await facet("model", "evaluate", bundle, "--data", data);
    expect(evaluated.code, evaluated.output).toBe(0);
    expect(evaluated.output).toMatch(/category: per class/);
    expect(await filesHash(bundle)).toBe(before); // the bundle is never modified
    const report = JSON.parse(await readFile(`${bundle}.evaluation.json`, "utf8"));
    expect(report.split).toBe("test");
    expect(report.metrics.attributes.category.confusion.labels).toContain("ring");

    // An evaluation on the training data's own validation split is no evidence: publish refuses it.
    const onVal = path.join(tmp, "on-val.evaluation.json");
    expect((await facet("model", "evaluate", bundle, "--data", data, "--split", "val", "--out", onVal)).code).toBe(0);
    const refusedVal = await facet("model", "publish", bundle, "--version", "2.0.0", "--evaluation", onVal);
    expect(refusedVal.code).toBe(2);
    expect(refusedVal.output).toMatch(/measures the val split of the training data/);

    const published = await facet("model", "publish", bundle, "--version", "2.0.0");
    expect(published.code, published.output).toBe(0);
    const manifest = JSON.parse(await readFile(path.join(tmp, "models/2.0.0/manifest.json"), "utf8"));
    expect(manifest.version).toBe("2.0.0");
    expect(manifest.lineage.dataset.hash).toBe(dataset.hash);
    expect(manifest.lineage.training.backbone).toBe("scratch");
    expect(manifest.evaluation.split).toBe("test");
    const card = await readFile(path.join(tmp, "models/2.0.0/MODEL_CARD.md"), "utf8");
    for (const section of ["## Intended use", "## Training data", "## Evaluation", "## Known limits", "## Bias notes", "## Privacy"]) expect(card).toContain(section);
    expect(card).toMatch(/EXIF, including GPS/);

    const again = await facet("model", "publish", bundle, "--version", "2.0.0");
    expect(again.code).toBe(2);
    expect(again.stderr.trim()).toMatch(/^model version 2.0.0 already exists in /);
    const tampered = path.join(tmp, "tampered");
    await cp(bundle, tampered, { recursive: true });
    await cp(`${bundle}.evaluation.json`, `${tampered}.evaluation.json`);
    const decoder = await readFile(path.join(tampered, "decoder.onnx"));
    decoder.writeUInt8(decoder.readUInt8(decoder.length >> 1) ^ 0xff, decoder.length >> 1);
    await writeFile(path.join(tampered, "decoder.onnx"), decoder);
    const refused = await facet("model", "publish", tampered, "--version", "2.0.1");
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/decoder\.onnx: sha256: file hashes to/);

    const listed = await facet("model", "list", "--json");
    expect(JSON.parse(listed.stdout)).toEqual([expect.objectContaining({ version: "2.0.0", latest: true, data: "catalogue", backbone: "scratch" })]);

    const runId = await completedRun("2.0.0", "shadow");
    const compared = await facet("run", "compare", runId, "--json");
    expect(compared.code, compared.output).toBe(0);
    const comparison = JSON.parse(compared.stdout);
    expect(comparison.products).toBe(PRODUCTS);
    // Nothing applied yet: each product is compared with what its seller wrote.
    expect(comparison.attributes.category.compared).toBeGreaterThan(0);

    const applied = await facet("run", "apply", runId, "--json");
    expect(applied.code, applied.output).toBe(0);
    const statuses = JSON.parse(applied.stdout).statuses as Record<string, number>;
    expect(Object.values(statuses).reduce((a, b) => a + b, 0)).toBe(PRODUCTS);
    // A model trained for three steps is unsure of nearly everything: what it is unsure of goes to a person, with its reasons.
    const versions = await t.db.withSchema(t.schema).table("description_versions").where({ run_id: runId }).select("status", "review_reasons");
    for (const v of versions) {
      if (v.status === "needs_review") expect(v.review_reasons.length).toBeGreaterThan(0);
      if (v.status === "applied") expect(v.review_reasons).toEqual([]);
    }
    expect(statuses.needs_review ?? 0).toBeGreaterThan(0);
  }, 600_000);

  it("sends a result that contradicts what the seller wrote to needs_review with contradicts_seller", async () => {
    await cp(DEMO_MODEL_DIR, path.join(tmp, "models/1.0.0"), { recursive: true });
    // A silver product whose artisan says it is 18k gold: the demo model sees sterling silver.
    const silver = await t.db.withSchema(t.catalogueSchema).table("products").where({ metal: "sterling silver", locked: false }).orderBy("id").first("id");
    await t.db.withSchema(t.catalogueSchema).table("products").where({ id: silver.id }).update({ description: "Solid 18k gold, hallmarked", description_edited_at: null });
    const runId = await completedRun("1.0.0", "apply");
    const version = await t.db.withSchema(t.schema).table("description_versions").where({ run_id: runId, product_id: silver.id }).first();
    expect(version.attributes.metal.label).toBe("sterling silver");
    expect(version.status).toBe("needs_review");
    expect(version.review_reasons).toContain("contradicts_seller");
    expect(version.review_detail.contradictions).toEqual([expect.objectContaining({ attribute: "metal", predicted: "sterling silver", seller: ["yellow gold", "white gold", "rose gold"] })]);
    const text = await t.db.withSchema(t.catalogueSchema).table("products").where({ id: silver.id }).first("description");
    expect(text.description).toBe("Solid 18k gold, hallmarked"); // never silently contradicted
  }, 300_000);
});
