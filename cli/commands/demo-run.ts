import { rm } from "node:fs/promises";
import path from "node:path";
import sharp from "sharp";
import { pathToFileURL } from "node:url";
import { Redis } from "ioredis";
import knex from "knex";
import { createDemoCatalogue } from "../../producers/demo/demo-catalogue-schema.js";
import { seedDemoCatalogue } from "../../producers/demo/seed-demo-catalogue.js";
import { RunFeeder } from "../../producers/run-feeder.js";
import { loadConfig } from "../../shared/config/config.js";
import { createDb, migrate } from "../../shared/db/database.js";
import { createRun, getRun, runCounts, type LedgerContext } from "../../shared/ledger/run-ledger.js";
import { appliedSamples, unfinishedReasons, versionStatuses } from "../../shared/ledger/run-summary.js";
import { createLogger, redactUrl } from "../../shared/logging/logger.js";
import { createDescribeQueue, DESCRIBE_ATTEMPTS, redisConnection } from "../../shared/queue/describe-queue.js";
import { openWritableObjectStore } from "../../shared/storage/object-store.js";
import { createDescribeProcessor } from "../../workers/describe-processor.js";
import { createDecodeGuard } from "../../workers/decode-guard.js";
import { startDescribeWorker } from "../../workers/describe-worker.js";
import { createModelCache } from "../../workers/model-cache.js";
import { publishVersion } from "../../shared/model-store/publish-version.js";
import { readEvaluationReport } from "../../models/card/evaluation-report.js";
import { DEMO_MODEL_DIR } from "./describe.js";
import { parseFlags, positiveInt } from "../usage-error.js";
import { REPO_ROOT_DIR } from "../../shared/repo-root.js";

const DEMO_VERSION = "1.0.0";
/** The demo bundle's evaluation on its synthetic hold-out (npm run train:demo writes it). */
const DEMO_EVALUATION = path.join(path.dirname(DEMO_MODEL_DIR.replace(/\/$/, "")), "demo.evaluation.json");

/**
 * `npm run demo` (`facet demo run`): the whole product on one machine. Seeds a demo
 * marketplace (Postgres from DATABASE_URL, photos in a local folder), publishes the demo
 * model as version 1.0.0 in a local model store, starts a producer and a worker in this
 * process, runs an apply backfill over every product, and prints the summary and three
 * before/after descriptions.
 */
export async function demoRunCommand(args: string[]): Promise<number> {
  const { values } = parseFlags("demo run", args, { products: { type: "string", default: "500" }, seed: { type: "string", default: "7" } });
  const products = positiveInt("demo run", "products", values.products, 500);
  const home = path.join(REPO_ROOT_DIR, ".data/demo");
  const env = {
    IMAGE_STORE: pathToFileURL(path.join(home, "images")).href,
    MODEL_STORE: pathToFileURL(path.join(home, "models")).href,
    MODEL_CACHE_DIR: path.join(home, "model-cache"),
    QUEUE_PREFIX: "facet-demo",
    LOG_LEVEL: "warn",
    ...process.env,
  };
  const config = loadConfig(env);
  const logger = createLogger({ level: config.LOG_LEVEL, role: "demo" });
  if (!(await reachable(config.DATABASE_URL, config.REDIS_URL))) return 1;

  const db = createDb(config.DATABASE_URL);
  const catalogueSchema = config.CATALOGUE_RELATION.split(".")[0] ?? "facet_demo";
  const ledger = { db, schema: config.DB_SCHEMA, catalogue: config.CATALOGUE_RELATION };
  const connection = redisConnection(config.REDIS_URL);
  const queue = createDescribeQueue(connection, config.QUEUE_PREFIX);
  const decodes = createDecodeGuard({ connection, prefix: config.QUEUE_PREFIX, onError: (err) => logger.warn({ err, dependency: "redis" }, "decode journal: Redis does not answer") });
  const s3 = { region: config.S3_REGION, forcePathStyle: config.S3_FORCE_PATH_STYLE, ...(config.S3_ENDPOINT ? { endpoint: config.S3_ENDPOINT } : {}) };
  // Both writable: the demo publishes its model and seeds its photos into the stores its worker reads.
  const source = openWritableObjectStore(config.MODEL_STORE, { ...s3, access: "bundles" });
  const images = openWritableObjectStore(config.IMAGE_STORE, { ...s3, access: "photos" });
  sharp.concurrency(config.SHARP_CONCURRENCY);
  const models = createModelCache({ source, cacheDir: config.MODEL_CACHE_DIR, settings: { executionProvider: config.EXECUTION_PROVIDER, intraOpThreads: config.ORT_INTRA_OP_THREADS }, inferenceThreads: config.INFERENCE_THREADS, engine: { batchSize: config.BATCH_SIZE, review: { threshold: config.REVIEW_THRESHOLD, attributes: config.REVIEW_ATTRIBUTES } }, preprocess: { maxInputPixels: config.MAX_INPUT_PIXELS }, logger });
  try {
    step(`database ${redactUrl(config.DATABASE_URL)}: migrating schema ${config.DB_SCHEMA}`);
    await migrate(db, config.DB_SCHEMA);
    if (config.MODEL_STORE.startsWith("file://")) {
      // The demo's own store is rebuilt each time (published versions are otherwise never replaced),
      // then the demo bundle published the way any bundle is: lineage, evaluation and model card.
      await rm(path.join(new URL(config.MODEL_STORE).pathname, DEMO_VERSION), { recursive: true, force: true });
      await publishVersion({
        bundleDir: DEMO_MODEL_DIR,
        version: DEMO_VERSION,
        report: await readEvaluationReport(DEMO_EVALUATION),
        reportFile: DEMO_EVALUATION,
        store: source,
      });
      step(`model store ${config.MODEL_STORE}: published the demo model as ${DEMO_VERSION}`);
    }
    step(`seeding ${products} synthetic products into ${catalogueSchema}.products and ${config.IMAGE_STORE}`);
    await createDemoCatalogue(db, catalogueSchema);
    const seeded = await seedDemoCatalogue({
      db, schema: catalogueSchema, imageStore: images, seed: Number(values.seed), products,
    });
    step(`seeded ${seeded.products} products (${seeded.photos} photos) in ${seeded.seconds.toFixed(1)} s`);

    const apply = { applyFunction: config.CATALOGUE_APPLY_FUNCTION, reviewThreshold: config.REVIEW_THRESHOLD, reviewAttributes: config.REVIEW_ATTRIBUTES };
    const feeder = new RunFeeder({ ledger, queue, logger, backlogPerRun: config.BACKLOG_PER_RUN, intervalMs: 100, apply });
    const processor = createDescribeProcessor({
      ledger, images, models, logger, apply,
      batchSize: config.BATCH_SIZE, batchMaxWaitMs: config.BATCH_MAX_WAIT_MS, fetchTimeoutMs: config.FETCH_TIMEOUT_MS, fetchConcurrency: config.FETCH_CONCURRENCY,
      attempts: DESCRIBE_ATTEMPTS, decodes,
    });
    const worker = startDescribeWorker({
      connection, prefix: config.QUEUE_PREFIX, concurrency: config.WORKER_CONCURRENCY, ...processor, logger, shutdownDeadlineMs: config.SHUTDOWN_DEADLINE_MS,
    });
    try {
      await models.use(DEMO_VERSION, async () => undefined); // load and warm up before the clock starts
      const run = await createRun(ledger, { modelVersion: DEMO_VERSION, selection: { kind: "all" }, mode: "apply" });
      step(`run ${run.id}: model ${DEMO_VERSION}, all products, apply`);
      const started = performance.now();
      feeder.start();
      let lastLine = 0;
      for (;;) {
        const [current, counts] = await Promise.all([getRun(ledger, run.id), runCounts(ledger, run.id)]);
        const finished = counts.done + counts.failed + counts.skipped;
        const seconds = (performance.now() - started) / 1000;
        const line = `  ${bar(finished, Math.max(current.total, 1))} ${finished}/${current.total} · ${(finished / Math.max(seconds, 0.001)).toFixed(1)} products/s`;
        // A terminal gets a live bar; a log (CI) gets a line a second.
        if (process.stderr.isTTY) process.stderr.write(`\r${line}   `);
        else if (seconds - lastLine >= 1 || current.state === "completed") {
          process.stderr.write(`${line}\n`);
          lastLine = seconds;
        }
        if (current.state === "completed") break;
        await new Promise((r) => setTimeout(r, 200));
      }
      const seconds = (performance.now() - started) / 1000;
      if (process.stderr.isTTY) process.stderr.write("\n");
      await printSummary(ledger, run.id, seconds);
    } finally {
      await feeder.stop();
      await worker.stop();
    }
    return 0;
  } finally {
    await models.close();
    source.close();
    images.close();
    decodes.close();
    await queue.close();
    await db.destroy();
  }
}

async function printSummary(ledger: LedgerContext, runId: string, seconds: number) {
  const counts = await runCounts(ledger, runId);
  const statuses = await versionStatuses(ledger, runId);
  const reasons = await unfinishedReasons(ledger, runId);
  console.log(`\nrun ${runId}: ${counts.total} products in ${seconds.toFixed(1)} s = ${(counts.total / seconds).toFixed(1)} products/s`);
  console.log(`  done ${counts.done} · failed ${counts.failed} · skipped ${counts.skipped}`);
  console.log(`  of the done: ${statuses.map((s) => `${s.status} ${s.n}`).join(" · ")}`);
  for (const r of reasons) console.log(`  ${r.state} (${r.reason}): ${r.n}`);
  console.log("\nbefore → after:");
  for (const s of await appliedSamples(ledger, runId, 3)) {
    console.log(`\n  ${s.product_id}\n    before: ${String(s.previous_description).replace(/\s+/g, " ").trim()}\n    after:  ${s.description}`);
  }
}

function bar(done: number, total: number, width = 30): string {
  const filled = Math.round((done / total) * width);
  return `[${"#".repeat(filled)}${".".repeat(width - filled)}]`;
}

function step(text: string) {
  console.log(`• ${text}`);
}

/** Check Postgres and Redis, and say exactly how to start whichever is down. */
async function reachable(databaseUrl: string, redisUrl: string): Promise<boolean> {
  let ok = true;
  const db = knex({ client: "pg", connection: { connectionString: databaseUrl, connectionTimeoutMillis: 3000 }, pool: { min: 0, max: 1 } });
  try {
    await db.raw("select 1");
  } catch (error) {
    ok = false;
    console.error(`PostgreSQL at ${redactUrl(databaseUrl)} is not reachable (${(error as Error).message.split("\n")[0]}).`);
    console.error("  Start it:  pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start");
    console.error("  or point DATABASE_URL at a running server, e.g. DATABASE_URL=postgres://user:pass@host:5432/db npm run demo");
  } finally {
    await db.destroy();
  }
  const redis = new Redis(redisUrl, { lazyConnect: true, connectTimeout: 3000, maxRetriesPerRequest: 0, retryStrategy: () => null });
  try {
    await redis.connect();
    await redis.ping();
  } catch (error) {
    ok = false;
    console.error(`Redis at ${redactUrl(redisUrl)} is not reachable (${(error as Error).message}).`);
    console.error('  Start it:  redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no');
    console.error("  or point REDIS_URL at a running server, e.g. REDIS_URL=redis://host:6379 npm run demo");
  } finally {
    redis.disconnect();
  }
  return ok;
}
