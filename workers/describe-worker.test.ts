/**
 * A real backfill in one process: demo catalogue in Postgres, photos in an S3-compatible
 * server over HTTP, the feeder enqueueing on BullMQ (Redis), a worker batching products
 * through the demo model and writing results back.
 */
import pino from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createDemoCatalogue } from "../producers/demo/demo-catalogue-schema.js";
import { seedDemoCatalogue } from "../producers/demo/seed-demo-catalogue.js";
import { RunFeeder } from "../producers/run-feeder.js";
import { createRun, getRun, runCounts, type LedgerContext } from "../shared/ledger/run-ledger.js";
import { createDescribeQueue, DESCRIBE_ATTEMPTS } from "../shared/queue/describe-queue.js";
import { openWritableObjectStore } from "../shared/storage/object-store.js";
import { demoModelProvider } from "../test/helpers/demo-bundle.js";
import { createTestDb, type TestDb } from "../test/helpers/postgres.js";
import { createDecodeGuard } from "./decode-guard.js";
import { deletePrefix, testConnection, testQueuePrefix, waitFor } from "../test/helpers/redis.js";
import { startS3, type TestS3 } from "../test/helpers/s3-server.js";
import { startFaultProxy } from "../test/helpers/fault-proxy.js";
import { createDescribeProcessor } from "./describe-processor.js";
import { startDescribeWorker } from "./describe-worker.js";

const logger = pino({ level: "silent" });
const prefix = testQueuePrefix();
let t: TestDb;
let s3: TestS3;
let ctx: LedgerContext;
const models = demoModelProvider();
const decodes = createDecodeGuard({ connection: testConnection(), prefix, onError: () => {} });

beforeAll(async () => {
  [t, s3] = await Promise.all([createTestDb(), startS3()]);
  await s3.createBucket("shop");
  const images = openWritableObjectStore("s3://shop/photos", { ...s3.settings, access: "photos" });
  await createDemoCatalogue(t.db, t.catalogueSchema);
  await seedDemoCatalogue({ db: t.db, schema: t.catalogueSchema, imageStore: images, seed: 11, products: 20 });
  // One product's first photo is corrupt; another's photo is missing from the store.
  const [broken, missing] = await t.db.withSchema(t.catalogueSchema).table("products").orderBy("id").limit(2).offset(5);
  await images.put(broken.photo_keys[0], Buffer.from("definitely not a jpeg"));
  await t.db.withSchema(t.catalogueSchema).table("products").where({ id: missing.id }).update({ photo_keys: ["nowhere/0.jpg"] });
  ctx = t.ledger;
}, 120_000);
afterAll(async () => {
  await models.close();
  decodes.close();
  await deletePrefix(prefix);
  await Promise.all([t?.drop(), s3?.close()]);
});

/** An in-process worker over this test's queue, reading photos from the S3 server (or through `s3Settings`, e.g. a proxy). */
function startWorker(s3Settings = s3.settings) {
  const processor = createDescribeProcessor({
    ledger: ctx, images: openWritableObjectStore("s3://shop/photos", { ...s3Settings, access: "photos" }), models, logger,
    apply: { applyFunction: t.env.CATALOGUE_APPLY_FUNCTION, reviewThreshold: 0.6 },
    batchSize: 8, batchMaxWaitMs: 50, fetchTimeoutMs: 5000, fetchConcurrency: 16, attempts: DESCRIBE_ATTEMPTS, decodes,
  });
  return startDescribeWorker({ connection: testConnection(), prefix, concurrency: 16, ...processor, logger, shutdownDeadlineMs: 5000 });
}

describe("a backfill through Postgres → BullMQ → worker → Postgres", () => {
  it("describes every product once; a corrupt or missing photo fails that product alone", async () => {
    const queue = createDescribeQueue(testConnection(), prefix);
    const feeder = new RunFeeder({ ledger: ctx, queue, logger, intervalMs: 50 });
    const worker = startWorker();
    try {
      const run = await createRun(ctx, { modelVersion: "1.0.0", selection: { kind: "all" }, mode: "apply" });
      feeder.start();
      await waitFor("run completed", async () => (await getRun(ctx, run.id)).state === "completed", 90_000);
      expect(await runCounts(ctx, run.id)).toEqual({ total: 20, pending: 0, done: 18, failed: 2, skipped: 0 });
      const failures = await t.db.withSchema(t.schema).table("run_items").where({ run_id: run.id, state: "failed" }).orderBy("seq").pluck("reason");
      expect(failures.sort()).toEqual(["photo_missing", "photo_unsupported_format"].sort());
      const versions = await t.db.withSchema(t.schema).table("description_versions").where({ run_id: run.id });
      expect(versions).toHaveLength(18);
      expect(new Set(versions.map((v) => v.product_id)).size).toBe(18);
      expect(versions.filter((v) => !(/^[A-Z].*\.$/.test(v.description) && v.model_version === "1.0.0")).map((v) => v.description)).toEqual([]);
      expect(await queue.count()).toBe(0);
    } finally {
      await feeder.stop();
      await worker.stop();
      await queue.close();
    }
  }, 120_000);

  it("retries a transient S3 failure (throttling) with backoff until the photo is fetched", async () => {
    const target = (await t.db.withSchema(t.catalogueSchema).table("products").orderBy("id").first("id", "photo_keys")) as { id: string; photo_keys: string[] };
    const proxy = await startFaultProxy(s3.endpoint, { match: target.photo_keys[0] as string, failures: 2, status: 503, code: "SlowDown" });
    const queue = createDescribeQueue(testConnection(), prefix);
    const feeder = new RunFeeder({ ledger: ctx, queue, logger, intervalMs: 50 });
    const worker = startWorker({ ...s3.settings, endpoint: proxy.endpoint });
    try {
      const run = await createRun(ctx, { modelVersion: "1.0.0", selection: { kind: "ids", ids: [target.id] }, mode: "shadow" });
      feeder.start();
      await waitFor("run completed", async () => (await getRun(ctx, run.id)).state === "completed", 60_000);
      expect(proxy.injected()).toBe(2); // two throttled answers, then success on the third attempt
      expect(await runCounts(ctx, run.id)).toMatchObject({ total: 1, done: 1, failed: 0 });
    } finally {
      await feeder.stop();
      await worker.stop();
      await queue.close();
      await proxy.close();
    }
  }, 60_000);

  it("skips a product deleted after the run's snapshot, with its reason; the run goes on", async () => {
    const [gone, kept] = (await t.db.withSchema(t.catalogueSchema).table("products").orderBy("id").limit(2).offset(10).pluck("id")) as string[];
    const queue = createDescribeQueue(testConnection(), prefix);
    const feeder = new RunFeeder({ ledger: ctx, queue, logger, intervalMs: 50 });
    const run = await createRun(ctx, { modelVersion: "1.0.0", selection: { kind: "ids", ids: [gone as string, kept as string] }, mode: "shadow" });
    await feeder.tick(); // snapshot taken while both exist
    await t.db.withSchema(t.catalogueSchema).table("products").where({ id: gone }).update({ deleted_at: t.db.fn.now() });
    const worker = startWorker();
    try {
      feeder.start();
      await waitFor("run completed", async () => (await getRun(ctx, run.id)).state === "completed", 60_000);
      expect(await runCounts(ctx, run.id)).toMatchObject({ total: 2, done: 1, skipped: 1 });
      const item = await t.db.withSchema(t.schema).table("run_items").where({ run_id: run.id, product_id: gone }).first();
      expect(item).toMatchObject({ state: "skipped", reason: "product_gone" });
    } finally {
      await feeder.stop();
      await worker.stop();
      await queue.close();
    }
  }, 60_000);
});
