/**
 * The chaos scenario shared by test/chaos.test.ts (a few hundred products, in `npm test`) and
 * `npm run bench:chaos` (3,000 and more): an apply run through real `facet worker` and
 * `facet producer` processes on a private Postgres cluster, a private Redis and an S3 server
 * behind a fault-injecting proxy, while the scenario
 *   - SIGKILLs a worker every few seconds, some of them while they start up (before ready);
 *   - SIGKILLs the producer once;
 *   - FLUSHALLs Redis once (nobody runs `facet run resume`);
 *   - restarts Postgres once;
 *   - has the proxy answer a share of photo requests with 503, 500, a reset, a delay or a stall.
 * Supervisors replace what died, as Kubernetes would. Nothing else touches the run: a person's
 * step (`resume`, `retry-failed`) would count as a manual step, and there are none.
 *
 * The catalogue also holds hostile photo files (empty, text, truncated, a decompression bomb,
 * missing objects, …) and, optionally, a poison pill (FAULT_CRASH_PRODUCTS) that kills every worker
 * taking it.
 */
import { cp, mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { crc32, deflateSync } from "node:zlib";
import pino from "pino";
import sharp from "sharp";
import { DEMO_MODEL_DIR } from "../../cli/commands/describe.js";
import { createDemoCatalogue } from "../../producers/demo/demo-catalogue-schema.js";
import { seedDemoCatalogue } from "../../producers/demo/seed-demo-catalogue.js";
import { createDb, migrate, type Db } from "../../shared/db/database.js";
import { openWritableObjectStore } from "../../shared/storage/object-store.js";
import { runFacet, spawnFacet, type FacetProcess } from "../helpers/facet-process.js";
import { startChaosProxy, xorshift, type ChaosFault } from "../helpers/fault-proxy.js";
import { startPrivatePostgres, type PrivatePostgres } from "../helpers/private-postgres.js";
import { startPrivateRedis, type PrivateRedis } from "../helpers/redis-server.js";
import { startS3, type TestS3 } from "../helpers/s3-server.js";

const BUCKET = "chaos";
const READY_LINE = "worker ready; taking jobs";
const MODEL_VERSION = "1.0.0";

export interface ChaosStackOptions {
  products: number;
  /** Catalogue seed (product ids `syn-<seed>-<index>`). */
  seed: number;
  /** Give some products hostile photo files (see HOSTILE_PHOTOS). */
  hostile: boolean;
}

export interface ScenarioOptions {
  /** false: the same run with no faults at all (the baseline). */
  faults: boolean;
  /** Worker processes kept alive by the supervisor. */
  workers: number;
  /** A product whose job kills its worker (it must end `worker_crashed`). */
  poisonPill?: string;
  /** Seconds between worker kills (a random time between the two). */
  killEverySeconds: [number, number];
  /** Share of the kills aimed at a worker starting up: the replacement of the one killed before, within 300 ms of its spawn (spread evenly, the first after the second kill). */
  startupKillShare: number;
  /** Share of photo requests the proxy fails while faults are on. */
  s3FaultRate: number;
  /** Longest the run may take, ms. */
  timeoutMs: number;
  /** Every process's output, one `role<TAB>line` per line (for a look at where the time went). */
  logFile?: string;
  /** WORKER_LOCK_DURATION_MS (default 4000); the stalled check runs every half of it. */
  lockMs?: number;
  /** Progress lines (bench output); default silent. */
  onProgress?: (line: string) => void;
}

export interface ScenarioReport {
  runId: string;
  seconds: number;
  counts: { total: number; pending: number; done: number; failed: number; skipped: number };
  /** Items ending failed, by reason. */
  failedByReason: Record<string, number>;
  /** Version statuses (applied, needs_review, kept_locked, …). */
  statuses: Record<string, number>;
  /** Products with more than one version, or a done item without one. */
  outcomeErrors: string[];
  /** Applied products whose previous text is not the catalogue's original. */
  previousTextErrors: string[];
  /** Worker retries (BullMQ attempts after a transient error), by cause, from the workers' logs. */
  retriesByCause: Record<string, number>;
  /** Jobs Redis lost or failed without an outcome that the producer enqueued again, by kind, from its logs. */
  healedByKind: Record<string, number>;
  injected: Record<ChaosFault, number>;
  events: { workerKills: number; startupKills: number; producerKills: number; redisFlushes: number; postgresRestarts: number };
  /** Steps a person took to finish the run (resume, retry-failed): always 0, the scenario takes none. */
  manualSteps: number;
  /** Lines any process printed that are not JSON objects (ops parse every line). */
  nonJsonLines: string[];
  /** The outcome of each hostile product: `<kind>: <state> <reason>`. */
  hostile: string[];
  poisonPill?: { state: string; reason: string | null };
}

/** Hostile photo files, by kind: what a marketplace's storage really holds now and then. */
export async function hostilePhotos(): Promise<Array<{ kind: string; bytes: Buffer | null }>> {
  const jpeg = await sharp({ create: { width: 96, height: 96, channels: 3, background: "#c0a060" } }).jpeg().toBuffer();
  const png = await sharp({ create: { width: 96, height: 96, channels: 3, background: "#8090a0" } }).png().toBuffer();
  return [
    { kind: "empty file", bytes: Buffer.alloc(0) },
    { kind: "plain text", bytes: Buffer.from("this is not a photo\n") },
    { kind: "html error page", bytes: Buffer.from("<!doctype html><html><body>502 Bad Gateway</body></html>") },
    { kind: "truncated jpeg", bytes: jpeg.subarray(0, Math.floor(jpeg.length / 2)) },
    { kind: "truncated png", bytes: png.subarray(0, Math.floor(png.length / 2)) },
    { kind: "jpeg header only", bytes: jpeg.subarray(0, 20) },
    { kind: "decompression bomb (400 Mpx png header)", bytes: pngHeaderClaiming(20_000, 20_000) },
    { kind: "gzip bytes", bytes: Buffer.from([0x1f, 0x8b, 0x08, 0x00, 0, 0, 0, 0, 0, 0x03, 0x03, 0, 0, 0, 0, 0, 0, 0, 0, 0]) },
    { kind: "pdf", bytes: Buffer.from("%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n") },
    { kind: "missing object", bytes: null },
  ];
}

/** A PNG whose header claims `width` × `height` pixels, with almost no data behind it. */
function pngHeaderClaiming(width: number, height: number): Buffer {
  const chunk = (type: string, data: Buffer) => {
    const body = Buffer.concat([Buffer.from(type, "ascii"), data]);
    const out = Buffer.alloc(12 + data.length);
    out.writeUInt32BE(data.length, 0);
    body.copy(out, 4);
    out.writeUInt32BE(crc32(body), 8 + data.length);
    return out;
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr.set([8, 2, 0, 0, 0], 8); // 8-bit RGB
  return Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), chunk("IHDR", ihdr), chunk("IDAT", deflateSync(Buffer.alloc(64))), chunk("IEND", Buffer.alloc(0))]);
}

/** Private Postgres, Redis, S3 (+ chaos proxy) and a seeded catalogue, shared by scenarios. */
export class ChaosStack {
  private constructor(
    readonly postgres: PrivatePostgres,
    readonly redis: PrivateRedis,
    readonly s3: TestS3,
    readonly proxy: Awaited<ReturnType<typeof startChaosProxy>>,
    readonly db: Db,
    readonly tmp: string,
    readonly options: ChaosStackOptions,
    readonly hostileProducts: Map<string, string>,
    private scenarios = 0,
  ) {}

  static async start(options: ChaosStackOptions): Promise<ChaosStack> {
    const [postgres, redis, s3, tmp] = await Promise.all([
      startPrivatePostgres(),
      startPrivateRedis(),
      startS3({ separateProcess: true }),
      mkdtemp(path.join(os.tmpdir(), "facet-chaos-")),
    ]);
    const proxy = await startChaosProxy(s3.endpoint, { seed: options.seed, delayMs: 1500, stallMs: 5000 });
    // Its own connections break when the scenario restarts Postgres: quietly, and asked again.
    const db = createDb(postgres.url, { poolMax: 4, logger: pino({ level: "silent" }) });
    await s3.createBucket(BUCKET);
    await seedDemoCatalogue({
      db,
      schema: "shop_source",
      imageStore: openWritableObjectStore(`s3://${BUCKET}/photos`, { ...s3.settings, access: "photos" }),
      seed: options.seed,
      products: options.products,
    });
    const hostileProducts = new Map<string, string>();
    if (options.hostile) {
      const kinds = await hostilePhotos();
      const ids: string[] = (await db.withSchema("shop_source").table("products").orderBy("id").limit(kinds.length * 2).pluck("id")).filter((_: string, i: number) => i % 2 === 1);
      for (const [i, { kind, bytes }] of kinds.entries()) {
        const id = ids[i] as string;
        const key = `hostile/${i}`;
        if (bytes) await s3.put(BUCKET, `photos/${key}`, bytes);
        await db.withSchema("shop_source").table("products").where({ id }).update({ photo_keys: [key] });
        hostileProducts.set(id, kind);
      }
    }
    await mkdir(path.join(tmp, "models"), { recursive: true });
    await cp(DEMO_MODEL_DIR, path.join(tmp, "models", MODEL_VERSION), { recursive: true });
    return new ChaosStack(postgres, redis, s3, proxy, db, tmp, options, hostileProducts);
  }

  async close(): Promise<void> {
    await this.db.destroy();
    await this.proxy.close();
    await Promise.allSettled([this.redis.stop(), this.s3.close(), this.postgres.drop()]);
    await rm(this.tmp, { recursive: true, force: true });
  }

  /** One apply run over a fresh copy of the catalogue, with or without chaos; returns what happened. */
  async runScenario(options: ScenarioOptions): Promise<ScenarioReport> {
    const n = ++this.scenarios;
    const shop = `shop_${n}`;
    const facet = `facet_${n}`;
    await createDemoCatalogue(this.db, shop);
    await this.db.raw("insert into ??.products select * from shop_source.products", [shop]);
    await migrate(this.db, facet);
    const originals = new Map<string, string | null>(
      (await this.db.withSchema(shop).table("products").select("id", "description")).map((r: { id: string; description: string | null }) => [r.id, r.description]),
    );
    const env: Record<string, string> = {
      DATABASE_URL: this.postgres.url,
      DB_SCHEMA: facet,
      CATALOGUE_RELATION: `${shop}.catalogue`,
      CATALOGUE_APPLY_FUNCTION: `${shop}.apply_description`,
      REDIS_URL: this.redis.url,
      QUEUE_PREFIX: `chaos-${n}`,
      IMAGE_STORE: `s3://${BUCKET}/photos`,
      // Both runs read photos through the proxy (at a fault rate of 0 for the baseline), so its CPU on these cores is in both.
      S3_ENDPOINT: this.proxy.endpoint,
      S3_FORCE_PATH_STYLE: "true",
      AWS_ACCESS_KEY_ID: "S3RVER",
      AWS_SECRET_ACCESS_KEY: "S3RVER",
      MODEL_STORE: pathToFileURL(path.join(this.tmp, "models")).href,
      MODEL_CACHE_DIR: path.join(this.tmp, `model-cache-${n}`),
      METRICS_PORT: "0",
      // A worker that dies hands its jobs back within the lock (Kubernetes: a node lost). Short,
      // because this scenario kills one every few seconds; the default is 60 s.
      WORKER_LOCK_DURATION_MS: String(options.lockMs ?? 4000),
      WORKER_STALLED_INTERVAL_MS: String((options.lockMs ?? 4000) / 2),
      HEAL_INTERVAL_MS: "2000",
      FETCH_TIMEOUT_MS: "3000",
      // info: the scenario sees "worker ready" (it kills some workers before it).
      LOG_LEVEL: "info",
      ...(options.poisonPill ? { FAULT_CRASH_PRODUCTS: options.poisonPill } : {}),
    };
    const lines: { role: string; text: string }[] = [];
    const all: Array<{ role: string; p: FacetProcess }> = [];
    const spawnRole = (role: "worker" | "producer") => {
      const p = spawnFacet([role], env);
      all.push({ role, p });
      return p;
    };
    // What happened when, for the log file: progress each second, kills and workers becoming ready.
    const t0 = Date.now();
    const timeline: string[] = [];
    const mark = (what: Record<string, unknown>) => timeline.push(JSON.stringify({ t: Number(((Date.now() - t0) / 1000).toFixed(1)), ...what }));
    const events = { workerKills: 0, startupKills: 0, producerKills: 0, redisFlushes: 0, postgresRestarts: 0 };
    let stopping = false;

    // Supervisors: a process that dies is replaced, as a Deployment's pods are.
    const workers: Array<{ p: FacetProcess; ready: boolean; spawnedAt: number }> = [];
    const superviseWorker = async (slot: number) => {
      while (!stopping) {
        const p = spawnRole("worker");
        const entry = { p, ready: false, spawnedAt: Date.now() };
        workers[slot] = entry;
        p.proc.stdout?.on("data", (d: Buffer) => {
          if (!entry.ready && d.toString().includes(READY_LINE)) {
            entry.ready = true;
            mark({ ready: slot });
          }
        });
        await p.exited;
      }
    };
    let producer = spawnRole("producer");
    const superviseProducer = async () => {
      while (!stopping) {
        await producer.exited;
        if (!stopping) producer = spawnRole("producer");
      }
    };
    const supervisors = [...Array.from({ length: options.workers }, (_, slot) => superviseWorker(slot)), superviseProducer()];

    const started = Date.now();
    const start = await runFacet(["run", "start", "--model", MODEL_VERSION, "--all", "--mode", "apply", "--json"], { ...process.env, ...env });
    if (start.code !== 0) throw new Error(`facet run start exited ${start.code}: ${start.stderr}`);
    const runId = (JSON.parse(start.stdout.trim().split("\n").at(-1) as string) as { id: string }).id;
    const total = this.options.products;
    const progress = async (): Promise<{ finished: number; state: string } | undefined> => {
      try {
        const run = await this.db.withSchema(facet).table("runs").where({ id: runId }).first("state");
        const row = await this.db.withSchema(facet).table("run_items").where({ run_id: runId }).whereNot({ state: "pending" }).count({ n: "*" }).first();
        return { finished: Number(row?.n ?? 0), state: run?.state as string };
      } catch {
        return undefined; // Postgres is restarting: ask again
      }
    };

    // The chaos: one-off events at set shares of the run, worker kills all along.
    const oneOffs: Array<{ at: number; name: string; act: () => Promise<void> }> = options.faults
      ? [
          { at: 0.15, name: "producer SIGKILL", act: async () => { producer.proc.kill("SIGKILL"); events.producerKills++; } },
          { at: 0.3, name: "Redis FLUSHALL", act: async () => { await this.redis.flushAll(); events.redisFlushes++; } },
          { at: 0.45, name: "Postgres restart", act: async () => { await this.postgres.restart(); events.postgresRestarts++; } },
        ]
      : [];
    if (options.faults) this.proxy.setFaultRate(options.s3FaultRate);
    const random = xorshift(this.options.seed + n);
    let nextKill = Date.now() + between(random, options.killEverySeconds) * 1000;
    // A share of the kills are startup kills, spread evenly: the credit reaches 1 at the second ready kill (share 0.3), then about every third kill.
    let startupCredit = 0.5;
    let startupKill: { after: number; delayMs: number } | undefined;
    let state = "";
    let nextReport = started + 10_000;
    let nextMark = 0;
    let seconds = 0;
    try {
      for (;;) {
        const now = Date.now();
        if (now - started > options.timeoutMs) throw new Error(`run ${runId} did not finish within ${options.timeoutMs} ms (${state}); last output:\n${all.at(-1)?.p.output().slice(-3000)}`);
        const p = await progress();
        if (p) {
          state = `${p.state}, ${p.finished}/${total} finished`;
          if (p.state === "completed") break;
          if (now >= nextMark) {
            mark({ finished: p.finished });
            nextMark = now + 1000;
          }
          if (now >= nextReport) {
            options.onProgress?.(`  ${((now - started) / 1000).toFixed(0)} s: ${p.finished}/${total} finished`);
            nextReport += 10_000;
          }
          const share = p.finished / total;
          while (oneOffs.length > 0 && share >= (oneOffs[0] as { at: number }).at) {
            const event = oneOffs.shift() as (typeof oneOffs)[number];
            options.onProgress?.(`  ${((now - started) / 1000).toFixed(1)} s, ${p.finished}/${total}: ${event.name}`);
            mark({ event: event.name });
            await event.act();
          }
        }
        if (options.faults) {
          const alive = (w: (typeof workers)[number] | undefined) => w !== undefined && w.p.proc.exitCode === null && w.p.proc.signalCode === null;
          if (startupKill) {
            // The replacement of the last victim, killed before it is ready (it gets one chance: ready first, no kill).
            const { after, delayMs } = startupKill;
            const replacement = workers.find((w) => alive(w) && w.spawnedAt > after);
            if (replacement?.ready) startupKill = undefined;
            else if (replacement && now - replacement.spawnedAt >= delayMs) {
              replacement.p.proc.kill("SIGKILL");
              mark({ kill: workers.indexOf(replacement), startup: true });
              events.startupKills++;
              startupCredit -= 1;
              startupKill = undefined;
              // It takes the place of the next kill: kills stay one every killEverySeconds, this share of them at start-up.
              nextKill = now + between(random, options.killEverySeconds) * 1000;
            }
          } else if (now >= nextKill) {
            const ready = workers.filter((w) => alive(w) && w.ready);
            const victim = ready[Math.floor(random() * ready.length)];
            if (victim) {
              victim.p.proc.kill("SIGKILL");
              mark({ kill: workers.indexOf(victim), startup: false });
              events.workerKills++;
              startupCredit += options.startupKillShare;
              if (startupCredit >= 1) startupKill = { after: now, delayMs: random() * 300 };
              nextKill = now + between(random, options.killEverySeconds) * 1000;
            } else {
              nextKill = now + 200; // none ready yet: try again soon
            }
          }
        }
        await new Promise((r) => setTimeout(r, 100));
      }
    } finally {
      seconds = (Date.now() - started) / 1000;
      stopping = true;
      this.proxy.setFaultRate(0);
      for (const w of workers) w?.p.proc.kill("SIGTERM");
      producer.proc.kill("SIGTERM");
      await Promise.all(supervisors);
      for (const { role, p } of all) lines.push(...p.output().split("\n").filter((l) => l.trim() !== "").map((text) => ({ role, text })));
      if (options.logFile) await writeFile(options.logFile, [...timeline.map((t) => `scenario\t${t}`), ...lines.map((l) => `${l.role}\t${l.text}`)].join("\n") + "\n");
    }
    return this.report(runId, seconds, facet, shop, originals, lines.map((l) => l.text), events, options);
  }

  private async report(
    runId: string,
    seconds: number,
    facet: string,
    shop: string,
    originals: Map<string, string | null>,
    lines: string[],
    events: ScenarioReport["events"],
    options: ScenarioOptions,
  ): Promise<ScenarioReport> {
    const items: Array<{ product_id: string; state: string; reason: string | null }> = await this.db
      .withSchema(facet)
      .table("run_items")
      .where({ run_id: runId })
      .select("product_id", "state", "reason");
    const counts = { total: items.length, pending: 0, done: 0, failed: 0, skipped: 0 };
    const failedByReason: Record<string, number> = {};
    for (const item of items) {
      counts[item.state as keyof typeof counts]++;
      if (item.state === "failed") failedByReason[item.reason ?? "?"] = (failedByReason[item.reason ?? "?"] ?? 0) + 1;
    }
    const versions: Array<{ product_id: string; status: string }> = await this.db.withSchema(facet).table("description_versions").where({ run_id: runId }).select("product_id", "status");
    const perProduct = new Map<string, number>();
    const statuses: Record<string, number> = {};
    for (const v of versions) {
      perProduct.set(v.product_id, (perProduct.get(v.product_id) ?? 0) + 1);
      statuses[v.status] = (statuses[v.status] ?? 0) + 1;
    }
    const outcomeErrors = [
      ...[...perProduct].filter(([, k]) => k > 1).map(([id, k]) => `${id}: ${k} versions`),
      ...items.filter((i) => i.state === "done" && !perProduct.has(i.product_id)).map((i) => `${i.product_id}: done without a version`),
      ...items.filter((i) => i.state !== "done" && perProduct.has(i.product_id)).map((i) => `${i.product_id}: ${i.state} with a version`),
    ];
    const applied: Array<{ product_id: string; previous_description: string | null; description: string }> = await this.db
      .withSchema(facet)
      .table("current_descriptions")
      .where({ run_id: runId })
      .select("product_id", "previous_description", "description");
    const now: Map<string, string | null> = new Map(
      (await this.db.withSchema(shop).table("products").select("id", "description")).map((r: { id: string; description: string | null }) => [r.id, r.description]),
    );
    const previousTextErrors = applied.flatMap((a) => {
      const problems: string[] = [];
      if (a.previous_description !== originals.get(a.product_id)) problems.push(`${a.product_id}: previous text is not the original`);
      if (now.get(a.product_id) !== a.description) problems.push(`${a.product_id}: catalogue text is not the applied version`);
      return problems;
    });
    const parsed = lines.map((l) => {
      try {
        const v = JSON.parse(l) as unknown;
        return typeof v === "object" && v !== null ? (v as Record<string, unknown>) : undefined;
      } catch {
        return undefined;
      }
    });
    const retriesByCause: Record<string, number> = {};
    const healedByKind: Record<string, number> = {};
    for (const entry of parsed) {
      if (!entry) continue;
      if (entry.msg === "transient error; BullMQ retries") {
        const cause = String(entry.cause ?? entry.stage ?? "?");
        retriesByCause[cause] = (retriesByCause[cause] ?? 0) + 1;
      }
      if (entry.msg === "jobs left Redis without an outcome; enqueued again" && entry.lost && typeof entry.lost === "object") {
        for (const [kind, k] of Object.entries(entry.lost as Record<string, number>)) healedByKind[kind] = (healedByKind[kind] ?? 0) + k;
      }
    }
    const byId = new Map(items.map((i) => [i.product_id, i]));
    const hostile = [...this.hostileProducts].map(([id, kind]) => `${kind}: ${byId.get(id)?.state} ${byId.get(id)?.reason ?? ""}`.trim());
    const pill = options.poisonPill ? byId.get(options.poisonPill) : undefined;
    return {
      runId,
      seconds,
      counts,
      failedByReason,
      statuses,
      outcomeErrors,
      previousTextErrors,
      retriesByCause,
      healedByKind,
      injected: this.proxy.injected(),
      events,
      manualSteps: 0,
      nonJsonLines: lines.filter((_, i) => parsed[i] === undefined),
      hostile,
      ...(pill ? { poisonPill: { state: pill.state, reason: pill.reason } } : {}),
    };
  }
}

function between(random: () => number, [low, high]: [number, number]): number {
  return low + random() * (high - low);
}
