/**
 * Observability against a real Prometheus: the project's scrape configuration and rules
 * (deploy/prometheus) scrape a real `facet worker` and `facet producer` through a small real
 * backfill (photos in an S3-compatible server, one corrupt photo, two injected S3 503s), and
 * then every dashboard query and every rule expression is evaluated by Prometheus itself.
 * Also: /metrics on the worker during the run, and /readyz while Redis is down and back.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import { cp, mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DEMO_MODEL_DIR } from "../cli/commands/describe.js";
import { dashboardQueries, expandTemplate, variableQueries } from "../grafana/dashboards.js";
import { createDemoCatalogue } from "../producers/demo/demo-catalogue-schema.js";
import { seedDemoCatalogue } from "../producers/demo/seed-demo-catalogue.js";
import { getRun, runCounts, type LedgerContext } from "../shared/ledger/run-ledger.js";
import { openWritableObjectStore } from "../shared/storage/object-store.js";
import { spawnFacet, runFacet, type FacetProcess } from "./helpers/facet-process.js";
import { startFaultProxy } from "./helpers/fault-proxy.js";
import { createTestDb, type TestDb } from "./helpers/postgres.js";
import { REPO_ROOT } from "./helpers/python.js";
import { waitFor } from "./helpers/redis.js";
import { freePort, startPrivateRedis, type PrivateRedis } from "./helpers/redis-server.js";
import { startS3, type TestS3 } from "./helpers/s3-server.js";

const PROMETHEUS = "/usr/bin/prometheus";
const hasPrometheus = existsSync(PROMETHEUS);
if (!hasPrometheus) console.warn(`observability test skipped: ${PROMETHEUS} is missing (apt-get install prometheus; .ci/run installs it)`);

const PRODUCTS = 80;
let t: TestDb;
let redis: PrivateRedis;
let s3: TestS3;
let proxy: Awaited<ReturnType<typeof startFaultProxy>>;
let tmp: string;
let env: Record<string, string>;
let ledger: LedgerContext;
let worker: FacetProcess;
let producer: FacetProcess;
let prometheus: ChildProcess;
let promUrl: string;
let workerUrl: string;
let producerUrl: string;
let runId: string;
const duringRun: { second?: number; stages?: Record<string, number>; pacedSteps: number } = { pacedSteps: 0 };
const processedSeen: number[] = [];
/** Dashboard queries (by a readable key) that returned data, and any that failed to parse. */
const withData = new Set<string>();
const parseErrors: string[] = [];

async function evaluateDashboards(): Promise<void> {
  for (const q of dashboardQueries()) {
    const key = `${q.dashboard} / ${q.panel} / ${q.refId}: ${q.expr}`;
    if (withData.has(key)) continue;
    const r = await promQuery(expandTemplate(q.expr, "1m"));
    if (r.status !== "success") parseErrors.push(`${key}: ${r.error}`);
    else if ((r.data?.result.length ?? 0) > 0) withData.add(key);
  }
}

async function get(url: string): Promise<{ status: number; body: string }> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(5000) });
    return { status: res.status, body: await res.text() };
  } catch (error) {
    return { status: 0, body: String(error) };
  }
}

/** Sum of a metric's samples in a /metrics text (optionally only lines containing `filter`). */
function sample(text: string, name: string, filter = ""): number {
  return text
    .split("\n")
    .filter((l) => (l.startsWith(`${name}{`) || l.startsWith(`${name} `)) && l.includes(filter))
    .reduce((sum, l) => sum + Number(l.slice(l.lastIndexOf(" ") + 1)), 0);
}

/** The single value of an instant query, or undefined when it returned no series. */
async function promValue(expr: string): Promise<number | undefined> {
  const r = await promQuery(expr);
  const first = r.data?.result[0] as { value: [number, string] } | undefined;
  return first ? Number(first.value[1]) : undefined;
}

async function promQuery(expr: string): Promise<{ status: string; error?: string; data?: { result: unknown[] } }> {
  const res = await fetch(`${promUrl}/api/v1/query?${new URLSearchParams({ query: expr })}`);
  return (await res.json()) as { status: string; error?: string; data?: { result: unknown[] } };
}

/**
 * Let the run finish, paced so that Prometheus sees it move through several scrapes however
 * fast this machine is: photo GETs pass the proxy 16 at a time, and the next 16 only once the
 * worker has processed more products and Prometheus has scraped both the worker's counter and
 * the producer's ledger counts where the run now stands.
 */
async function runPaced(): Promise<void> {
  let processedAtLastStep = 0;
  const completed = async () => (await getRun(ledger, runId)).state === "completed";
  while (!(await completed())) {
    proxy.allow(16);
    await waitFor("prometheus caught up with the paced run", async () => {
      if (await completed()) return true;
      if (proxy.held() === 0) return false;
      const processed = sample((await get(`${workerUrl}/metrics`)).body, "facet_products_processed_total");
      if (processed <= processedAtLastStep) return false;
      const counts = await runCounts(ledger, runId);
      const ended = counts.done + counts.failed + counts.skipped;
      const caughtUp = (await promValue("sum(facet_products_processed_total)")) === processed && (await promValue(`sum(facet_run_products{run_id="${runId}", state=~"done|failed|skipped"})`)) === ended;
      if (caughtUp) {
        processedAtLastStep = processed;
        duringRun.pacedSteps++;
      }
      return caughtUp;
    }, 60_000);
  }
}

describe.skipIf(!hasPrometheus)("observability with a real Prometheus", () => {
  beforeAll(async () => {
    [t, redis, s3, tmp] = await Promise.all([createTestDb(), startPrivateRedis(), startS3(), mkdtemp(path.join(os.tmpdir(), "facet-observability-"))]);
    await s3.createBucket("shop");
    await createDemoCatalogue(t.db, t.catalogueSchema);
    await seedDemoCatalogue({ db: t.db, schema: t.catalogueSchema, imageStore: openWritableObjectStore("s3://shop/photos", { ...s3.settings, access: "photos" }), seed: 77, products: PRODUCTS });
    ledger = t.ledger;
    // One product's first photo is corrupt (fails alone); another's is refused twice with 503 SlowDown (retried).
    const rows = await t.db.from(ledger.catalogue).orderBy("product_id").limit(3).select("product_id", "photo_keys");
    await s3.put("shop", `photos/${rows[0].photo_keys[0]}`, new Uint8Array([0xff, 0xd8, 0xff, 0xe0, 1, 2, 3]));
    // Photo GETs pass the proxy only as the test allows (see the paced run below).
    proxy = await startFaultProxy(s3.endpoint, { match: rows[1].photo_keys[0], failures: 2, gate: "/photos/" });
    await mkdir(path.join(tmp, "models"), { recursive: true });
    await cp(DEMO_MODEL_DIR, path.join(tmp, "models/1.0.0"), { recursive: true });
    const [workerPort, producerPort, promPort] = [await freePort(), await freePort(), await freePort()];
    env = {
      ...t.env,
      REDIS_URL: redis.url,
      QUEUE_PREFIX: "facet-observability",
      IMAGE_STORE: "s3://shop/photos",
      S3_ENDPOINT: proxy.endpoint,
      S3_FORCE_PATH_STYLE: "true",
      AWS_ACCESS_KEY_ID: "S3RVER",
      AWS_SECRET_ACCESS_KEY: "S3RVER",
      MODEL_STORE: pathToFileURL(path.join(tmp, "models")).href,
      MODEL_CACHE_DIR: path.join(tmp, "model-cache"),
      // Small batches and few jobs in hand: the run lasts long enough to watch it progress.
      BATCH_SIZE: "4",
      BATCH_MAX_WAIT_MS: "50",
      WORKER_CONCURRENCY: "4",
      INFERENCE_THREADS: "1",
      SHUTDOWN_DEADLINE_MS: "5000",
      // Photo requests wait in the proxy while the run is paced: no fetch may time out there.
      FETCH_TIMEOUT_MS: "120000",
      LOG_LEVEL: "warn",
    };
    const migrated = await runFacet(["db", "migrate"], { ...process.env, ...env });
    expect(migrated.code, migrated.stderr).toBe(0);
    producer = spawnFacet(["producer"], { ...env, METRICS_PORT: String(producerPort) });
    workerUrl = `http://127.0.0.1:${workerPort}`;
    producerUrl = `http://127.0.0.1:${producerPort}`;

    // Prometheus with the project's configuration, scraping every second instead of 15 s.
    const config = path.join(tmp, "prometheus");
    await cp(path.join(REPO_ROOT, "deploy/prometheus"), config, { recursive: true });
    const yml = (await readFile(path.join(config, "prometheus.yml"), "utf8")).replace(/(scrape_interval|evaluation_interval): \S+/g, "$1: 1s").replace(/scrape_timeout: \S+/, "scrape_timeout: 1s");
    await writeFile(path.join(config, "prometheus.yml"), yml);
    await writeFile(path.join(config, "targets/facet-worker.json"), JSON.stringify([{ targets: [`127.0.0.1:${workerPort}`] }]));
    await writeFile(path.join(config, "targets/facet-producer.json"), JSON.stringify([{ targets: [`127.0.0.1:${producerPort}`] }]));
    promUrl = `http://127.0.0.1:${promPort}`;
    let promOut = "";
    prometheus = spawn(PROMETHEUS, [`--config.file=${path.join(config, "prometheus.yml")}`, `--storage.tsdb.path=${path.join(tmp, "tsdb")}`, `--web.listen-address=127.0.0.1:${promPort}`], { stdio: ["ignore", "pipe", "pipe"] });
    prometheus.stderr?.on("data", (d) => (promOut = (promOut + d).slice(-4000)));
    prometheus.once("exit", (code) => code && console.error(`prometheus exited ${code}: ${promOut}`));
    await waitFor("prometheus ready", async () => (await get(`${promUrl}/-/ready`)).status === 200, 60_000);
    // The backfill, snapshotted before any worker runs: then one product is deleted, so it
    // is skipped (product_gone) when its turn comes.
    const started = await runFacet(["run", "start", "--all", "--model", "1.0.0", "--json"], { ...process.env, ...env });
    expect(started.code, started.stderr).toBe(0);
    runId = (JSON.parse(started.stdout) as { id: string }).id;
    await waitFor("run snapshotted", async () => (await getRun(ledger, runId)).state === "running", 60_000);
    await t.db.withSchema(t.catalogueSchema).table("products").where({ id: rows[2].product_id }).delete();

    // The worker, watched through its /metrics while it works.
    worker = spawnFacet(["worker"], { ...env, METRICS_PORT: String(workerPort) });
    // Every dashboard query is evaluated in Prometheus while the run goes on (a ratio or an
    // ETA has data only while products flow); each must parse and return data at some point.
    let polling = true;
    const evaluator = (async () => {
      while (polling) {
        await evaluateDashboards();
        await new Promise((resolve) => setTimeout(resolve, 500));
      }
    })();
    // From its first answer on, the worker's processed counter is read every 50 ms.
    const poller = (async () => {
      while (polling) {
        const r = await get(`${workerUrl}/metrics`);
        if (r.status === 200) processedSeen.push(sample(r.body, "facet_products_processed_total"));
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    })();
    await waitFor("worker ready", async () => (await get(`${workerUrl}/readyz`)).status === 200, 60_000);
    await waitFor("both targets up", async () => {
      return (await promValue('sum(up{job=~"facet-worker|facet-producer"})')) === 2;
    }, 60_000);
    await runPaced();
    polling = false;
    await Promise.all([poller, evaluator]);
    const text = (await get(`${workerUrl}/metrics`)).body;
    duringRun.second = sample(text, "facet_products_processed_total");
    duringRun.stages = Object.fromEntries(["fetch", "preprocess", "batch_wait", "inference", "write"].map((s) => [s, sample(text, "facet_stage_duration_seconds_count", `stage="${s}"`)]));
    // Prometheus has the final counts, and two more scrapes for rate windows.
    await waitFor("prometheus saw the whole run", async () => {
      return (await promValue(`sum(facet_run_products{run_id="${runId}", state=~"done|failed|skipped"})`)) === PRODUCTS;
    }, 60_000);
    await waitFor("prometheus saw the worker's final counters", async () => {
      return (await promValue("sum(facet_products_processed_total)")) === PRODUCTS;
    }, 60_000);
  }, 300_000);

  afterAll(async () => {
    // Every process gets SIGTERM and must exit by itself: within the shutdown deadline plus
    // 5 s even here, where Redis was restarted a moment ago (BullMQ's close can then hang;
    // the hard deadline ends the process).
    const stopped: string[] = [];
    const stop = async (name: string, proc: ChildProcess | undefined) => {
      if (!proc || proc.exitCode !== null || proc.signalCode !== null) return;
      const exited = new Promise((r) => proc.once("exit", r));
      proc.kill("SIGTERM");
      const timer = setTimeout(() => {
        stopped.push(name);
        proc.kill("SIGKILL");
      }, 30_000);
      await exited;
      clearTimeout(timer);
    };
    await Promise.all([stop("prometheus", prometheus), stop("worker", worker?.proc), stop("producer", producer?.proc)]);
    await proxy?.close();
    await Promise.all([redis?.stop(), s3?.close(), t?.drop()]);
    if (tmp) await rm(tmp, { recursive: true, force: true });
    expect(stopped, `killed after 30 s without exiting on SIGTERM; worker: ${worker?.output().slice(-2000)} producer: ${producer?.output().slice(-2000)}`).toEqual([]);
  }, 120_000);

  it("runs the backfill to an exact end: one corrupt photo failed, one deleted product skipped, the throttled one retried", async () => {
    const counts = await runCounts(ledger, runId);
    expect(counts).toMatchObject({ total: PRODUCTS, done: PRODUCTS - 2, failed: 1, skipped: 1, pending: 0 });
    expect(proxy.injected()).toBe(2);
  });

  it("shows the processed counter rising and every stage histogram non-zero on the worker's /metrics during the run", () => {
    // Read while the run went on: the counter climbed through several values to every product.
    const distinct = [...new Set(processedSeen)];
    expect(distinct.length, `values seen: ${distinct.join(", ")}`).toBeGreaterThanOrEqual(3);
    expect(processedSeen).toEqual([...processedSeen].sort((a, b) => a - b));
    expect(duringRun.second).toBe(PRODUCTS); // every product, whatever its outcome
    for (const [stage, count] of Object.entries(duringRun.stages ?? {})) expect(count, stage).toBeGreaterThan(0);
  });

  it("evaluates every dashboard panel query in Prometheus: each parses and returns data", async () => {
    const queries = dashboardQueries();
    expect(queries.length).toBeGreaterThan(20);
    expect(parseErrors).toEqual([]);
    // Prometheus scraped the run at several points on its way (the pacing above).
    expect(duringRun.pacedSteps).toBeGreaterThanOrEqual(3);
    // Rates over windows that close after the run: give them (bounded) time to fill.
    await waitFor("every dashboard query had data", async () => {
      await evaluateDashboards();
      return withData.size === queries.length;
    }, 30_000).catch(() => undefined);
    expect(parseErrors).toEqual([]);
    const empty = queries.map((q) => `${q.dashboard} / ${q.panel} / ${q.refId}: ${q.expr}`).filter((k) => !withData.has(k));
    expect(empty, `queries that never returned data: ${empty.join("\n")}`).toEqual([]);
    for (const v of variableQueries()) {
      const r = await promQuery(v.selector);
      expect(r.status, v.query).toBe("success");
      expect(r.data?.result.length, `variable ${v.variable}: ${v.query}`).toBeGreaterThan(0);
    }
  });

  it("loads every rule and evaluates every alert and recording expression in Prometheus", async () => {
    const res = (await (await fetch(`${promUrl}/api/v1/rules`)).json()) as { data: { groups: Array<{ rules: Array<{ type: string; name: string; query: string; health: string; lastError?: string }> }> } };
    const rules = res.data.groups.flatMap((g) => g.rules);
    const alerts = rules.filter((r) => r.type === "alerting").map((r) => r.name);
    expect(alerts).toEqual(expect.arrayContaining(["FacetRunStalled", "FacetHighFailureShare", "FacetWorkersDown", "FacetInferenceThroughputLow"]));
    for (const rule of rules) {
      const r = await promQuery(rule.query);
      expect(r.status, `${rule.name}: ${rule.query}: ${r.error}`).toBe("success");
      expect(rule.health, `${rule.name}: ${rule.lastError}`).not.toBe("err");
    }
    // A healthy, finished backfill fires nothing.
    const firing = (await (await fetch(`${promUrl}/api/v1/alerts`)).json()) as { data: { alerts: Array<{ labels: { alertname: string }; state: string }> } };
    expect(firing.data.alerts.filter((a) => a.state === "firing").map((a) => a.labels.alertname)).toEqual([]);
  });

  it("serves /healthz, and /readyz fails while Redis is stopped and recovers when it is back", async () => {
    for (const url of [workerUrl, producerUrl]) {
      expect((await get(`${url}/healthz`)).status).toBe(200);
      expect((await get(`${url}/readyz`)).status).toBe(200);
    }
    await redis.kill();
    try {
      await waitFor("worker /readyz fails without Redis", async () => (await get(`${workerUrl}/readyz`)).status === 503, 30_000);
      const body = JSON.parse((await get(`${workerUrl}/readyz`)).body) as { checks: Record<string, { ok: boolean }> };
      expect(body.checks).toMatchObject({ redis: { ok: false }, postgres: { ok: true }, model: { ok: true } });
      expect((await get(`${producerUrl}/readyz`)).status).toBe(503);
      expect((await get(`${workerUrl}/healthz`)).status).toBe(200);
    } finally {
      await redis.start();
    }
    await waitFor("worker /readyz recovers", async () => (await get(`${workerUrl}/readyz`)).status === 200, 30_000);
    await waitFor("producer /readyz recovers", async () => (await get(`${producerUrl}/readyz`)).status === 200, 30_000);
  });
});
