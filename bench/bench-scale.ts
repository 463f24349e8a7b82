/**
 * `npm run bench:scale`: how the producer and a worker hold up at catalogue scale, on this
 * machine, one run. Prints a table:
 *
 * - snapshotting a 1,000,000-product selection (the feeder's own ticks, defaults);
 * - the feeder's tick on that run, against the same tick on a 1,000-product run (flat in run size);
 * - cancelling it (`cancelRun`: the CLI's), and how long the producer takes to skip the rest;
 * - a `facet worker` process with the demo model: start to ready (taking jobs), the CPU that took
 *   (all its threads), and its RSS.
 *
 * Options: --products N (default 1000000).
 */
import { cp, mkdtemp, readFile, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import { pathToFileURL } from "node:url";
import pino from "pino";
import { DEMO_MODEL_DIR } from "../cli/commands/describe.js";
import { createDemoCatalogue } from "../producers/demo/demo-catalogue-schema.js";
import { RunFeeder } from "../producers/run-feeder.js";
import { cancelRun, createRun, getRun, runCounts } from "../shared/ledger/run-ledger.js";
import { createDescribeQueue, redisConnection } from "../shared/queue/describe-queue.js";
import { spawnFacet } from "../test/helpers/facet-process.js";
import { createTestDb } from "../test/helpers/postgres.js";
import { waitFor } from "../test/helpers/redis.js";
import { startPrivateRedis } from "../test/helpers/redis-server.js";

const { values } = parseArgs({ options: { products: { type: "string", default: "1000000" } } });
const PRODUCTS = Number(values.products);
const logger = pino({ level: "silent" });
const rows: Array<[string, string, string]> = [];
const row = (measure: string, value: string, target = "") => rows.push([measure, value, target]);
const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

const [t, redis] = await Promise.all([createTestDb(), startPrivateRedis()]);
const tmp = await mkdtemp(path.join(os.tmpdir(), "facet-bench-scale-"));
const queue = createDescribeQueue(redisConnection(redis.url), "scale");
try {
  await createDemoCatalogue(t.db, t.catalogueSchema);
  let started = performance.now();
  await t.db.raw(
    `insert into ??.products (id, title, category, photo_keys)
     select 'p' || lpad(i::text, 8, '0'), 'product ' || i, (array['ring','earrings','necklace','bracelet','pendant','brooch'])[1 + i % 6], array['p' || i || '/0.jpg']
     from generate_series(1, ?) as i`,
    [t.catalogueSchema, PRODUCTS],
  );
  await t.db.raw("analyze ??.products", [t.catalogueSchema]);
  console.log(`seeded ${PRODUCTS.toLocaleString("en")} catalogue products in ${seconds(performance.now() - started)}`);

  // 1. Snapshot, with the feeder's defaults, ticking as the producer does (no sleep between ticks here).
  const feeder = new RunFeeder({ ledger: t.ledger, queue, logger });
  const big = await createRun(t.ledger, { modelVersion: "1.0.0", selection: { kind: "all" }, mode: "shadow" });
  started = performance.now();
  let ticks = 0;
  while ((await getRun(t.ledger, big.id)).state === "snapshotting") {
    await feeder.tick();
    ticks++;
  }
  const snapshotMs = performance.now() - started;
  row(`snapshot of ${PRODUCTS.toLocaleString("en")} products (${ticks} feeder ticks)`, `${seconds(snapshotMs)} (${Math.round(PRODUCTS / (snapshotMs / 1000)).toLocaleString("en")} products/s)`, "≤ 30 s");

  // 2. Tick cost on the big run (backlog full) against a small one, each alone among running runs.
  const tickMs = async (): Promise<number> => {
    const samples: number[] = [];
    for (let i = 0; i < 7; i++) {
      const s = performance.now();
      await feeder.tick();
      samples.push(performance.now() - s);
    }
    return samples.sort((a, b) => a - b)[3] as number;
  };
  const bigTick = await tickMs();

  // 3. Cancel the big run; the producer skips what the cancel left pending.
  started = performance.now();
  await cancelRun(t.ledger, big.id);
  const cancelMs = performance.now() - started;
  row("cancel of that run (the state and the first 20,000 items, one transaction)", seconds(cancelMs), "≤ 2 s");
  started = performance.now();
  while ((await runCounts(t.ledger, big.id)).pending > 0) await feeder.tick();
  row("the producer skipping the rest of its pending items", seconds(performance.now() - started));
  await queue.obliterate({ force: true });

  const small = await createRun(t.ledger, { modelVersion: "1.0.0", selection: { kind: "ids", ids: Array.from({ length: 1000 }, (_, i) => `p${String(i + 1).padStart(8, "0")}`) }, mode: "shadow" });
  while ((await getRun(t.ledger, small.id)).state === "snapshotting") await feeder.tick();
  const smallTick = await tickMs();
  row(`feeder tick, median of 7: ${PRODUCTS.toLocaleString("en")}-product run / 1,000-product run`, `${bigTick.toFixed(1)} / ${smallTick.toFixed(1)} ms (×${(bigTick / smallTick).toFixed(2)})`, "flat in run size");
  await cancelRun(t.ledger, small.id);
  await queue.obliterate({ force: true });

  // 4. A real worker process: start to ready, and its memory once ready and idle.
  await cp(DEMO_MODEL_DIR, path.join(tmp, "models/1.0.0"), { recursive: true });
  const env = {
    ...t.env,
    REDIS_URL: redis.url,
    QUEUE_PREFIX: "scale",
    MODEL_STORE: pathToFileURL(path.join(tmp, "models")).href,
    MODEL_CACHE_DIR: path.join(tmp, "model-cache"),
    IMAGE_STORE: pathToFileURL(path.join(tmp, "images")).href,
    METRICS_PORT: "0",
    LOG_LEVEL: "info",
  };
  const readies: number[] = [];
  const rss: number[] = [];
  const cpu: number[] = [];
  for (let i = 0; i < 3; i++) {
    started = performance.now();
    const worker = spawnFacet(["worker"], env);
    await waitFor("worker ready", async () => worker.output().includes("worker ready; taking jobs"), 60_000);
    readies.push(performance.now() - started);
    // utime + stime of all its threads so far, in clock ticks (100 a second on Linux).
    const stat = (await readFile(`/proc/${worker.proc.pid}/stat`, "utf8")).split(") ")[1]?.split(" ") ?? [];
    cpu.push((Number(stat[11]) + Number(stat[12])) / 100);
    const status = await readFile(`/proc/${worker.proc.pid}/status`, "utf8");
    rss.push(Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0) / 1024);
    worker.proc.kill("SIGTERM");
    await worker.exited;
  }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;
  row("worker start to ready with the demo model (spawn → taking jobs), median of 3", seconds(median(readies)), "≤ 2 s");
  row("worker CPU to ready (all its threads: what a restart takes from the cores beside it), median of 3", `${median(cpu).toFixed(2)} s`, "");
  row("worker RSS when ready, median of 3 (default INFERENCE_THREADS)", `${median(rss).toFixed(0)} MB`, "≤ 300 MB");
} finally {
  await queue.close();
  await redis.stop();
  await t.drop();
  await rm(tmp, { recursive: true, force: true });
}

console.log("\n| measure | value | target |");
console.log("|---|---:|---|");
for (const [measure, value, target] of rows) console.log(`| ${measure} | ${value} | ${target} |`);
