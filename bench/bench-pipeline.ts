/**
 * `npm run bench:pipeline`: the pipeline against its limit, measured in one run on the same photos.
 *
 * 1. The limit: the same model in a tight in-process loop, `facet describe`'s (photos already
 *    in memory: preprocess them, then batched inference, batch BATCH_SIZE), products/s.
 * 2. The ceiling: the same work overlapped as the worker overlaps it (preprocessing while
 *    batches run on the worker's inference threads), products/s. The loop in 1 leaves a
 *    core idle while it infers, which the pipeline does not; this one is what the machine
 *    can do with the model and nothing else.
 * 3. End to end: Postgres → producer → BullMQ → worker (fetching photos from an S3-compatible
 *    server over HTTP) → Postgres, products/s from run creation to completion (ledger times).
 * 4. The ratios. Each repeat measures 1 and 2, then 3, then 1 again, and keeps 3's ratio to
 *    the mean of the limit on both sides of it, and to the ceiling: this machine's speed drifts
 *    by ±15% within a minute, so unpaired medians mislead.
 * 5. Redis memory during a 100,000-product run with the model replaced by a no-op, sampled
 *    as the run progresses: it must stay flat (the backlog is bounded).
 *
 * Also: CPU per product of every process on the machine (worker, S3 server, Postgres, Redis:
 * they share its cores), stalled jobs and event-loop delay under full load (the worker runs
 * with a 2 s lock, renewed every second, so a blocked event loop would show as stalls), and
 * with `--sweep`, end to end for other inference-thread and sharp settings. The worker's CPU is
 * also split by thread (cpu-breakdown.ts), and `--profile FILE` adds one more pass under V8's
 * profiler that splits the main thread's share by package and writes the profile to FILE
 * (a .cpuprofile, for Chrome DevTools or speedscope).
 *
 * The process runs with the worker's V8 setting (`--max-semi-space-size=64`, see the npm
 * script, bin/facet.mjs and the Dockerfile), so the limit and the worker share it.
 *
 * Needs PostgreSQL (TEST_DATABASE_URL or postgres://postgres@127.0.0.1:5432/test) and
 * redis-server on PATH (a private one is started). Everything it creates is removed.
 *
 *   npm run bench:pipeline -- [--products 1000] [--repeats 5] [--noop-products 100000] [--sweep] [--profile FILE]
 */
import { parseArgs } from "node:util";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { readFileSync } from "node:fs";
import { execFileSync } from "node:child_process";
import { monitorEventLoopDelay } from "node:perf_hooks";
import { QueueEvents, Worker } from "bullmq";
import sharp from "sharp";
import { Redis } from "ioredis";
import pino from "pino";
import { DEMO_MODEL_DIR } from "../cli/commands/describe.js";
import { loadBundle } from "../models/runtime/bundle.js";
import { createDescriber, DEFAULT_BATCH_SIZE, type PreparedProduct } from "../models/runtime/describer.js";
import { createPreprocessor } from "../models/runtime/preprocessor.js";
import { inProcessEngine, startThreadedEngine, type InferenceEngine } from "../models/runtime/inference-engine.js";
import { DEFAULT_SESSION_SETTINGS } from "../models/runtime/session-settings.js";
import { configSchema } from "../shared/config/config.js";
import { createWorkerMetrics } from "../shared/metrics/metrics.js";
import { createDemoCatalogue } from "../producers/demo/demo-catalogue-schema.js";
import { seedDemoCatalogue } from "../producers/demo/seed-demo-catalogue.js";
import { RunFeeder } from "../producers/run-feeder.js";
import { createRun, getRun } from "../shared/ledger/run-ledger.js";
import { createDescribeQueue, DESCRIBE_ATTEMPTS, DESCRIBE_QUEUE, redisConnection, type DescribeJob } from "../shared/queue/describe-queue.js";
import { openObjectStore, openWritableObjectStore } from "../shared/storage/object-store.js";
import { createTestDb } from "../test/helpers/postgres.js";
import { startPrivateRedis } from "../test/helpers/redis-server.js";
import { startS3 } from "../test/helpers/s3-server.js";
import { cpuSince, profileByOwner, startProfiler, threadCpu, threadIds } from "./cpu-breakdown.js";
import { createDescribeProcessor } from "../workers/describe-processor.js";
import { createDecodeGuard } from "../workers/decode-guard.js";
import { startDescribeWorker } from "../workers/describe-worker.js";

const { values } = parseArgs({
  options: {
    products: { type: "string", default: "1000" },
    repeats: { type: "string", default: "5" },
    "noop-products": { type: "string", default: "100000" },
    sweep: { type: "boolean", default: false },
    profile: { type: "string" },
  },
});
const PRODUCTS = Number(values.products);
const REPEATS = Number(values.repeats);
const FETCH_TIMEOUT_MS = 3000;
const NOOP_PRODUCTS = Number(values["noop-products"]);
const BATCH = DEFAULT_BATCH_SIZE;
// The worker's defaults, as `facet worker` would run with an empty environment.
const defaults = configSchema.parse({});
const DEFAULT_SETTINGS = { threads: defaults.INFERENCE_THREADS, sharpConcurrency: defaults.SHARP_CONCURRENCY };
const logger = pino({ level: "silent" });
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;

/** CPU seconds (user + system) a process has used so far; 0 once it is gone. */
function cpuSeconds(pid: number): number {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]?.split(" ") ?? [];
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return 0;
  }
}
const postgresPids = () => {
  try {
    return execFileSync("pgrep", ["-x", "postgres"]).toString().trim().split("\n").map(Number);
  } catch {
    return [];
  }
};

const [t, s3, redis] = await Promise.all([createTestDb(), startS3({ separateProcess: true }), startPrivateRedis()]);
const tmp = await mkdtemp(path.join(os.tmpdir(), "facet-bench-"));
const ledger = t.ledger;
const connection = redisConnection(redis.url);
const bundle = await loadBundle(DEMO_MODEL_DIR);
try {
  await s3.createBucket("shop");
  await createDemoCatalogue(t.db, t.catalogueSchema);
  const seeded = await seedDemoCatalogue({ db: t.db, schema: t.catalogueSchema, imageStore: openWritableObjectStore("s3://shop/photos", { ...s3.settings, access: "photos" }), seed: 5, products: PRODUCTS });
  const images = openObjectStore("s3://shop/photos", { ...s3.settings, access: "photos" });
  console.log(`${PRODUCTS} products, ${seeded.photos} photos in an S3-compatible server · ${os.availableParallelism()} cores · batch ${BATCH} · median of ${REPEATS}`);

  // 1. The limit: same photos, in memory, same model and batch size.
  const rows = await t.db.from(ledger.catalogue).orderBy("product_id").select("product_id", "photo_keys");
  const products = await Promise.all(rows.map(async (r) => ({ id: r.product_id as string, photos: await Promise.all((r.photo_keys as string[]).map((k) => images.get(k))) })));
  const describer = createDescriber(bundle, { batchSize: BATCH });
  // The worker's preprocessing, built from the manifest as the model cache builds it.
  const preprocessor = createPreprocessor(bundle.manifest);
  sharp.concurrency(DEFAULT_SETTINGS.sharpConcurrency);
  await describer.describe(products.slice(0, BATCH));
  /** The limit's CPU ms per product by thread, one entry per pass (its model runs on the main thread). */
  const limitCpu: Array<{ main: number; other: number }> = [];
  async function limitPass(): Promise<number> {
    sharp.concurrency(DEFAULT_SETTINGS.sharpConcurrency);
    const cpuBefore = threadCpu();
    const started = performance.now();
    await describer.describe(products);
    const rate = PRODUCTS / ((performance.now() - started) / 1000);
    const used = cpuSince(cpuBefore, threadCpu());
    limitCpu.push({ main: (used.main * 1000) / PRODUCTS, other: ((used.total - used.main) * 1000) / PRODUCTS });
    return rate;
  }
  /**
   * The ceiling: the same photos and model with nothing between them, overlapped the way the
   * worker overlaps them (photos preprocessed while earlier batches run on the worker's
   * inference engine, one batch per thread plus one queued). The loop above leaves a core
   * idle while it infers; this one doesn't, so the pipeline can't beat it.
   */
  async function ceilingPass(engine: InferenceEngine, sharpConcurrency: number): Promise<number> {
    sharp.concurrency(sharpConcurrency);
    const started = performance.now();
    const inFlight = new Set<Promise<unknown>>();
    let batch: PreparedProduct[] = [];
    let next = 0;
    const dispatch = async () => {
      const running = engine.infer(batch).finally(() => inFlight.delete(running));
      batch = [];
      inFlight.add(running);
      while (inFlight.size > engine.parallelism) await Promise.race(inFlight);
    };
    await Promise.all(
      Array.from({ length: 8 }, async () => {
        while (next < products.length) {
          batch.push(await describer.preprocess(products[next++] as (typeof products)[number]));
          if (batch.length === BATCH) await dispatch();
        }
      }),
    );
    if (batch.length > 0) await dispatch();
    await Promise.all(inFlight);
    return PRODUCTS / ((performance.now() - started) / 1000);
  }

  // 2. End to end through the real pipeline, for the default settings (and others with --sweep).
  const queue = createDescribeQueue(connection, "bench");
  const feeder = new RunFeeder({ ledger, queue, logger, intervalMs: 50 });
  feeder.start();
  const events = new QueueEvents(DESCRIBE_QUEUE, { connection, prefix: "bench" });
  await events.waitUntilReady();
  let stalled = 0;
  events.on("stalled", () => stalled++);

  interface EndToEnd {
    threads: number;
    sharpConcurrency: number;
    rate: number;
    /** The limit (mean of the passes just before and just after each end-to-end pass) and the ceiling (just before), and each pass's ratios to them. */
    limits: number[];
    ceilings: number[];
    ratios: number[];
    ceilingRatios: number[];
    /** CPU ms per product, by process. */
    cpu: { worker: number; s3: number; postgres: number; redis: number };
    /** The worker process's CPU ms per product by thread (inference: the engine's own threads). */
    byThread: { main: number; inference: number; other: number };
    /** Mean products per model batch. */
    batchMean: number;
    /** With --profile: the main thread's CPU ms per product by package, from one more pass. */
    byOwner?: Array<{ owner: string; ms: number }>;
    stalled: number;
    /** Transient retries by cause over every pass (object_timeout: a photo request hit FETCH_TIMEOUT_MS). */
    retries: Record<string, number>;
    loopDelayP99Ms: number;
    loopDelayMaxMs: number;
  }
  /**
   * Each repeat measures the limit and then end to end, back to back, and keeps their
   * ratio: this machine's speed drifts by ±15% over a minute (it shares its host), and
   * pairing makes the ratio compare the two at the same speed.
   */
  async function endToEnd(settings: { threads: number; sharpConcurrency: number }): Promise<EndToEnd> {
    const threadsBefore = threadIds();
    const engine = settings.threads > 0 ? await startThreadedEngine(DEMO_MODEL_DIR, DEFAULT_SESSION_SETTINGS, settings.threads, { batchSize: BATCH }) : inProcessEngine(bundle, { batchSize: BATCH });
    // The engine's threads: those that started with it (0 threads: inference runs on the main thread).
    const inferenceThreads = new Set([...threadIds()].filter((tid) => !threadsBefore.has(tid)));
    const models = { acquire: async () => ({ preprocessor, engine, release() {} }) };
    const metrics = createWorkerMetrics({ loadedModels: () => [] });
    const decodes = createDecodeGuard({ connection, prefix: "bench", onError: (err) => logger.warn({ err }, "decode journal: Redis does not answer") });
    // A 3 s fetch timeout (not the 10 s default): with no fault, not one request may time out.
    const processor = createDescribeProcessor({
      ledger, images, models, logger, metrics,
      apply: { applyFunction: t.env.CATALOGUE_APPLY_FUNCTION, reviewThreshold: 0.6 },
      batchSize: BATCH, batchMaxWaitMs: defaults.BATCH_MAX_WAIT_MS, fetchTimeoutMs: FETCH_TIMEOUT_MS, fetchConcurrency: defaults.FETCH_CONCURRENCY, attempts: DESCRIBE_ATTEMPTS, decodes,
    });
    // A 2 s lock renewed every second, checked every second: an event loop blocked for
    // about a second would let locks lapse and jobs stall.
    const worker = startDescribeWorker({ connection, prefix: "bench", concurrency: defaults.WORKER_CONCURRENCY, ...processor, logger, shutdownDeadlineMs: 10_000, lockDurationMs: 2000, stalledIntervalMs: 1000 });
    const rates: number[] = [];
    const limits: number[] = [];
    const ceilings: number[] = [];
    const cpu: Array<EndToEnd["cpu"]> = [];
    const byThread: Array<EndToEnd["byThread"]> = [];
    const batches: number[] = [];
    /** Model batches run so far by this pass's worker (the batch-size histogram's count). */
    const batchesSoFar = async () => (await metrics.batchSize.get()).values.find((v) => v.metricName?.endsWith("_count"))?.value ?? 0;
    // One monitor per pass: the limit passes in between block this thread on purpose.
    const loop = { p99: [] as number[], max: [] as number[] };
    const stalledBefore = stalled;
    for (let i = 0; i < REPEATS; i++) {
      const limitBefore = await limitPass();
      ceilings.push(await ceilingPass(engine, settings.sharpConcurrency));
      sharp.concurrency(settings.sharpConcurrency);
      const pg = postgresPids();
      const before = { self: process.cpuUsage(), threads: threadCpu(inferenceThreads), s3: cpuSeconds(s3.pid as number), redis: cpuSeconds(redis.pid), pg: pg.reduce((sum, pid) => sum + cpuSeconds(pid), 0) };
      const monitor = monitorEventLoopDelay({ resolution: 5 });
      monitor.enable();
      const batchesBefore = await batchesSoFar();
      const run = await createRun(ledger, { modelVersion: "1.0.0", selection: { kind: "all" }, mode: "shadow" });
      const finished = await waitForRun(run.id);
      batches.push(PRODUCTS / ((await batchesSoFar()) - batchesBefore));
      monitor.disable();
      loop.p99.push(monitor.percentile(99) / 1e6);
      loop.max.push(monitor.max / 1e6);
      rates.push(PRODUCTS / finished.seconds);
      const self = process.cpuUsage(before.self);
      const perProduct = (seconds: number) => (seconds * 1000) / PRODUCTS;
      cpu.push({
        worker: perProduct((self.user + self.system) / 1e6),
        s3: perProduct(cpuSeconds(s3.pid as number) - before.s3),
        redis: perProduct(cpuSeconds(redis.pid) - before.redis),
        postgres: perProduct(pg.reduce((sum, pid) => sum + cpuSeconds(pid), 0) - before.pg),
      });
      const used = cpuSince(before.threads, threadCpu(inferenceThreads));
      byThread.push({ main: perProduct(used.main), inference: perProduct(used.inference), other: perProduct(used.total - used.main - used.inference) });
      // The limit on both sides of the pass: the machine's speed drifts within a minute.
      limits.push((limitBefore + (await limitPass())) / 2);
    }
    let byOwner: EndToEnd["byOwner"];
    if (values.profile) {
      // One more pass, not counted above: sampling costs the main thread a little.
      const profiler = await startProfiler();
      await waitForRun((await createRun(ledger, { modelVersion: "1.0.0", selection: { kind: "all" }, mode: "shadow" })).id);
      const profile = await profiler.stop();
      await writeFile(values.profile, JSON.stringify(profile));
      byOwner = profileByOwner(profile).map(({ owner, ms }) => ({ owner, ms: ms / PRODUCTS }));
    }
    await worker.stop();
    decodes.close();
    await engine.close();
    const pick = (k: keyof EndToEnd["cpu"]) => median(cpu.map((c) => c[k]));
    const pickThread = (k: keyof EndToEnd["byThread"]) => median(byThread.map((c) => c[k]));
    return {
      ...settings,
      rate: median(rates),
      limits,
      ceilings,
      ratios: rates.map((r, i) => r / (limits[i] as number)),
      ceilingRatios: rates.map((r, i) => r / (ceilings[i] as number)),
      cpu: { worker: pick("worker"), s3: pick("s3"), postgres: pick("postgres"), redis: pick("redis") },
      byThread: { main: pickThread("main"), inference: pickThread("inference"), other: pickThread("other") },
      byOwner,
      batchMean: median(batches),
      stalled: stalled - stalledBefore,
      retries: Object.fromEntries((await metrics.retries.get()).values.map((v) => [String(v.labels.cause), v.value])),
      loopDelayP99Ms: median(loop.p99),
      loopDelayMaxMs: Math.max(...loop.max),
    };
  }
  /** Seconds from the run's creation to its completion, by the ledger's own clock. */
  async function waitForRun(runId: string): Promise<{ seconds: number }> {
    for (;;) {
      const run = await getRun(ledger, runId);
      if (run.state === "completed" && run.finished_at) return { seconds: (run.finished_at.getTime() - run.created_at.getTime()) / 1000 };
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  const measured: EndToEnd[] = [await endToEnd(DEFAULT_SETTINGS)];
  if (values.sweep) {
    for (const threads of [0, 1, 2]) {
      for (const sharpConcurrency of [1, 2]) {
        if (threads === DEFAULT_SETTINGS.threads && sharpConcurrency === DEFAULT_SETTINGS.sharpConcurrency) continue;
        measured.push(await endToEnd({ threads, sharpConcurrency }));
      }
    }
    sharp.concurrency(DEFAULT_SETTINGS.sharpConcurrency);
  }
  await feeder.stop();
  await events.close();
  await queue.close();

  // 4. Redis memory over a 100,000-product run, model replaced by a no-op.
  await t.db.raw(
    `insert into ??.products (id, title, category, photo_keys) select 'noop-' || lpad(g::text, 7, '0'), 'x', 'noop', array['x.jpg'] from generate_series(1, ?) g`,
    [t.catalogueSchema, NOOP_PRODUCTS],
  );
  await redis.flushAll();
  const probe = new Redis(redis.url);
  const noopQueue = createDescribeQueue(connection, "noop");
  const noopFeeder = new RunFeeder({ ledger, queue: noopQueue, logger, intervalMs: 50 });
  const noop = new Worker<DescribeJob>(
    DESCRIBE_QUEUE,
    async (job) => {
      await t.db.withSchema(t.schema).table("run_items").where({ run_id: job.data.runId, product_id: job.data.productId, state: "pending" }).update({ state: "done" });
    },
    { connection, prefix: "noop", concurrency: 50 },
  );
  const baseline = Number(/used_memory:(\d+)/.exec(await probe.info("memory"))?.[1]);
  const run = await createRun(ledger, { modelVersion: "noop", selection: { kind: "category", category: "noop" }, mode: "shadow" });
  noopFeeder.start();
  const samples: Array<{ finished: number; bytes: number }> = [];
  const started = performance.now();
  for (;;) {
    const [current, mem] = await Promise.all([getRun(ledger, run.id), probe.info("memory")]);
    const finished = Number((await t.db.withSchema(t.schema).table("run_items").where({ run_id: run.id }).whereNot({ state: "pending" }).count({ n: "*" }).first())?.n ?? 0);
    samples.push({ finished, bytes: Number(/used_memory:(\d+)/.exec(mem)?.[1]) });
    if (current.state === "completed") break;
    await new Promise((r) => setTimeout(r, 250));
  }
  const noopSeconds = (performance.now() - started) / 1000;
  await noopFeeder.stop();
  await noop.close();
  await noopQueue.close();
  probe.disconnect();

  const mb = (b: number) => (b / 1048576).toFixed(2);
  const at = (share: number) => samples.reduce((best, s) => (Math.abs(s.finished - share * NOOP_PRODUCTS) < Math.abs(best.finished - share * NOOP_PRODUCTS) ? s : best));
  const peak = Math.max(...samples.map((s) => s.bytes));
  const main = measured[0] as EndToEnd;
  const [limitRate, e2eRate, ratio] = [median(main.limits), main.rate, median(main.ratios)];
  const label = (m: EndToEnd) => `inference threads ${m.threads}${m.threads === 0 ? " (main thread)" : ""}, sharp concurrency ${m.sharpConcurrency}`;
  console.log("\n| measure | value |");
  console.log("|---|---:|");
  console.log(`| the limit: tight in-process loop (facet describe's: preprocess, then infer), products/s | ${limitRate.toFixed(1)} |`);
  console.log(`| the ceiling: same work overlapped on the worker's inference threads, products/s | ${median(main.ceilings).toFixed(1)} |`);
  console.log(`| end to end (Postgres → BullMQ → worker ← S3 → Postgres), products/s | ${e2eRate.toFixed(1)} |`);
  console.log(`| ratio end to end / limit, median of ${REPEATS} back-to-back measurements (target ≥ 0.9) | ${ratio.toFixed(2)} |`);
  console.log(`| each repeat's ratio to the limit | ${main.ratios.map((r) => r.toFixed(2)).join(", ")} |`);
  console.log(`| ratio end to end / ceiling, median (no target: the ceiling pays for no fetch, queue or ledger) | ${median(main.ceilingRatios).toFixed(2)} |`);
  console.log(`| worker settings | ${label(main)} |`);
  console.log(`| CPU ms per product: worker process (incl. the feeder) / S3 server / Postgres / Redis | ${main.cpu.worker.toFixed(1)} / ${main.cpu.s3.toFixed(1)} / ${main.cpu.postgres.toFixed(1)} / ${main.cpu.redis.toFixed(2)} |`);
  const th = main.byThread;
  const lc = (k: keyof (typeof limitCpu)[number]) => median(limitCpu.map((c) => c[k])).toFixed(1);
  console.log(`| the limit's CPU ms per product by thread: main (the model and its JavaScript) / the rest (photo decoding in the libuv pool and libvips's workers; V8's GC and compiler helpers) | ${lc("main")} / ${lc("other")} |`);
  console.log(`| the worker's CPU ms per product by thread: main (queue, ledger, S3 requests, logs, batching) / inference threads (the model) / the rest (as above) | ${th.main.toFixed(1)} / ${th.inference.toFixed(1)} / ${th.other.toFixed(1)} |`);
  console.log(`| products per model batch, mean (BATCH_SIZE ${BATCH}) | ${main.batchMean.toFixed(1)} |`);
  console.log(`| stalled jobs under full load (2 s lock, 1 s stall check) | ${main.stalled} |`);
  const retries = Object.entries(main.retries).filter(([, n]) => n > 0);
  console.log(`| transient retries by cause, every pass (${FETCH_TIMEOUT_MS / 1000} s fetch timeout, FETCH_CONCURRENCY ${defaults.FETCH_CONCURRENCY}; target: no object_timeout) | ${retries.length ? retries.map(([c, n]) => `${c} ${n}`).join(", ") : "none"} |`);
  console.log(`| worker event-loop delay p99 (median of passes) / max, ms | ${main.loopDelayP99Ms.toFixed(1)} / ${main.loopDelayMaxMs.toFixed(1)} |`);
  console.log(`| no-op run: products, seconds, products/s | ${NOOP_PRODUCTS}, ${noopSeconds.toFixed(1)}, ${(NOOP_PRODUCTS / noopSeconds).toFixed(0)} |`);
  console.log(`| Redis used memory before the no-op run, MB | ${mb(baseline)} |`);
  for (const share of [0.1, 0.25, 0.5, 0.75, 0.9]) console.log(`| Redis used memory at ${share * 100}% of the no-op run, MB | ${mb(at(share).bytes)} |`);
  console.log(`| Redis peak used memory during the no-op run, MB | ${mb(peak)} |`);
  if (measured.length > 1) {
    console.log("\n| inference threads | sharp concurrency | end to end, products/s | ratio to the limit | worker CPU ms/product | stalled | event-loop delay max, ms |");
    console.log("|---:|---:|---:|---:|---:|---:|---:|");
    for (const m of measured) {
      console.log(`| ${m.threads}${m === main ? " (default)" : ""} | ${m.sharpConcurrency} | ${m.rate.toFixed(1)} | ${median(m.ratios).toFixed(2)} | ${m.cpu.worker.toFixed(1)} | ${m.stalled} | ${m.loopDelayMaxMs.toFixed(0)} |`);
    }
  }
  if (main.byOwner) {
    console.log("\n| main thread, one more pass under the profiler: by package | CPU ms per product |");
    console.log("|---|---:|");
    for (const { owner, ms } of main.byOwner.filter((o) => o.owner !== "(idle)").slice(0, 12)) console.log(`| ${owner} | ${ms.toFixed(2)} |`);
  }
  const pass = ratio >= 0.9 && main.stalled === 0 && !main.retries.object_timeout;
  console.log(`\nend to end / limit: ${ratio.toFixed(2)} (target ≥ 0.9), stalled jobs ${main.stalled}: ${pass ? "PASS" : "FAIL"}`);
  process.exitCode = pass ? 0 : 1;
} finally {
  await bundle.close();
  await Promise.all([t.drop(), s3.close(), redis.stop(), rm(tmp, { recursive: true, force: true })]);
}
