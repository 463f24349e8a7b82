/**
 * The compose stack's Facet services, run on this host as real processes (there is no
 * container engine here): each service's command and environment are read from
 * docker-compose.yml, started in the order its depends_on gives, each waiting for the conditions
 * it names (a one-shot's exit 0, a long-running role's /healthz). Stand-ins replace the
 * infrastructure: a fresh database on the local Postgres for `postgres`, a private Redis for
 * `redis`, an s3rver with the buckets minio-setup makes for `minio` (and minio-setup).
 * `onThisHost` is the one place the environment changes: where each server is, s3rver's
 * credentials, and what each container has to itself (ports, its tmpfs /tmp).
 *
 * Then the demo service's script seeds DEMO_PRODUCTS products and starts a backfill, which
 * the producer and two workers finish; the checks: one outcome per product in the ledger,
 * every long-running process healthy by its compose healthcheck, and the console's sign-in
 * with a token made the way deploy/compose/README.md says.
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadConfig } from "../../shared/config/config.js";
import { createDb, type Db } from "../../shared/db/database.js";
import { REPO_ROOT_DIR } from "../../shared/repo-root.js";
import { TEST_DATABASE_URL } from "../../test/helpers/postgres.js";
import { waitFor } from "../../test/helpers/redis.js";
import { freePort, startPrivateRedis, type PrivateRedis } from "../../test/helpers/redis-server.js";
import { startS3, type TestS3 } from "../../test/helpers/s3-server.js";
import { bucketsCreated, containerArgv, facetServiceNames, IMAGE_ENTRYPOINT, isOneShot, loadCompose, service, startOrder } from "./compose-file.js";

/** `DEMO_PRODUCTS=40 docker compose --profile demo run --rm demo`: small, so the run is quick. */
const DEMO_PRODUCTS = 40;
/** `docker compose up --scale worker=2`. */
const SCALE: Readonly<Record<string, number>> = { worker: 2 };
/** Longest a one-shot may take (migrate, publishing the model, seeding), and the backfill. */
const ONE_SHOT_MS = 60_000;
const BACKFILL_MS = 90_000;

const compose = loadCompose({ DEMO_PRODUCTS: String(DEMO_PRODUCTS) });
const config = loadConfig(service(compose, "worker").environment);

/** A service's process on this host, standing for one of its containers. */
interface Container {
  /** `worker-2`: the service and its replica number, as Compose names containers. */
  name: string;
  service: string;
  /** Runs to its end (a one-shot service, or `docker compose run`), rather than kept running. */
  oneShot: boolean;
  env: Record<string, string>;
  metricsPort: number;
  servePort: number;
  proc: ChildProcess;
  output(): string;
  /** The exit code (or signal) once it has exited. */
  exit: number | string | undefined;
  exited: Promise<number | string>;
  /** Its private folder: the container's tmpfs /tmp (and HOME). */
  tmp: string;
}

let admin: Db;
let ledgerDb: Db;
let databaseName: string;
let databaseUrl: string;
let redis: PrivateRedis;
let s3: TestS3;
const containers: Container[] = [];
/** One-shot services that exited 0 (depends_on: service_completed_successfully). */
const completed = new Set<string>();
let demo: Container;
let runId: string;

/**
 * The compose environment as this host's processes need it. Each rewritten value is first
 * checked to be what the compose file says, so a change there fails here rather than being
 * replaced unseen; everything else is passed as the compose file has it.
 */
function onThisHost(env: Readonly<Record<string, string>>, own: { metricsPort: number; servePort: number; tmp: string }): Record<string, string> {
  const minio = service(compose, "minio").environment ?? {};
  const out = { ...env };
  const rewrite = (key: string, expected: string, is: (value: string) => boolean, value: string) => {
    const current = env[key];
    if (current === undefined || !is(current)) throw new Error(`docker-compose.yml's ${key}=${current ?? "(unset)"} is not ${expected}: update onThisHost`);
    out[key] = value;
  };
  const host = (url: string) => new URL(url).host;
  rewrite("DATABASE_URL", "the postgres service", (v) => host(v) === "postgres:5432", databaseUrl);
  rewrite("REDIS_URL", "the redis service", (v) => host(v) === "redis:6379", redis.url);
  rewrite("S3_ENDPOINT", "the minio service", (v) => host(v) === "minio:9000", s3.endpoint);
  rewrite("AWS_ACCESS_KEY_ID", "MinIO's root user", (v) => v === minio.MINIO_ROOT_USER, "S3RVER");
  rewrite("AWS_SECRET_ACCESS_KEY", "MinIO's root password", (v) => v === minio.MINIO_ROOT_PASSWORD, "S3RVER");
  // Every container has the same ports in its own network namespace; on one host each needs its own.
  rewrite("METRICS_PORT", "a port", (v) => /^\d+$/.test(v), String(own.metricsPort));
  rewrite("SERVE_PORT", "a port", (v) => /^\d+$/.test(v), String(own.servePort));
  rewrite("MODEL_CACHE_DIR", "on the tmpfs /tmp", (v) => v.startsWith("/tmp/"), path.join(own.tmp, path.relative("/tmp", env.MODEL_CACHE_DIR ?? "")));
  return out;
}

/**
 * Start one container of `name`: its entrypoint and command (or, as `docker compose run
 * SERVICE ARGS` does, the entrypoint with `command` instead), from the repository root (the
 * image's WORKDIR holds the same bin/, dist/ and models/), with only its own environment.
 */
async function startContainer(name: string, replica = 1, command?: string[]): Promise<Container> {
  const s = service(compose, name);
  const label = command ? `${name}-run-${command[0] ?? ""}` : `${name}-${replica}`;
  const tmp = await mkdtemp(path.join(os.tmpdir(), `facet-compose-${label}-`));
  const [metricsPort, servePort] = [await freePort(), await freePort()];
  const env = onThisHost(s.environment ?? {}, { metricsPort, servePort, tmp });
  const [program, ...args] = command ? [...(s.entrypoint ?? IMAGE_ENTRYPOINT), ...command] : containerArgv(s);
  // `node` is this Node (also for `node` inside a service's sh -c script).
  const PATH = `${path.dirname(process.execPath)}:${process.env.PATH ?? "/usr/bin:/bin"}`;
  const proc = spawn(program === "node" ? process.execPath : (program as string), args, {
    cwd: REPO_ROOT_DIR,
    env: { PATH, HOME: tmp, TMPDIR: tmp, ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  proc.stdout?.on("data", (d) => (out += d));
  proc.stderr?.on("data", (d) => (out += d));
  const container: Container = {
    name: label,
    service: name,
    oneShot: command !== undefined || isOneShot(s),
    env,
    metricsPort,
    servePort,
    proc,
    output: () => out,
    exit: undefined,
    exited: new Promise((resolve) => proc.once("exit", (code, signal) => resolve((container.exit = code ?? signal ?? -1)))),
    tmp,
  };
  containers.push(container);
  return container;
}

const tail = (c: Container) => `${c.name} (exit ${c.exit ?? "none yet"}):\n${c.output().slice(-3000)}`;

async function get(url: string, init: RequestInit = {}): Promise<Response | undefined> {
  try {
    return await fetch(url, { ...init, signal: AbortSignal.timeout(5000) });
  } catch {
    return undefined;
  }
}

/** A long-running container is healthy once its /healthz (what bin/healthcheck.mjs asks) answers 200; dying first is a failure. */
async function untilHealthy(c: Container): Promise<void> {
  await waitFor(`${c.name} answers /healthz`, async () => {
    if (c.exit !== undefined) throw new Error(`${c.name} exited before it was healthy: ${tail(c)}`);
    return (await get(`http://127.0.0.1:${c.metricsPort}/healthz`))?.status === 200;
  }, ONE_SHOT_MS);
}

/** What `docker compose` waits for before it starts `name`: each depends_on condition of a Facet service. */
async function untilDependenciesMet(name: string): Promise<void> {
  for (const [dep, { condition }] of Object.entries(service(compose, name).depends_on ?? {})) {
    if (!facetServiceNames(compose).includes(dep)) continue; // a stand-in, up before any Facet service
    if (condition === "service_completed_successfully") expect(completed.has(dep), `${name} needs ${dep} to have completed`).toBe(true);
    else await Promise.all(containers.filter((c) => c.service === dep && !c.oneShot).map(untilHealthy));
  }
}

async function runToCompletion(c: Container, withinMs: number): Promise<void> {
  await waitFor(`${c.name} exits`, () => c.exit !== undefined, withinMs).catch((error: unknown) => {
    throw new Error(`${String(error)}\n${tail(c)}`);
  });
  expect(c.exit, tail(c)).toBe(0);
}

/** Every Facet service of the default profile, as `docker compose up` starts them, then the demo. */
async function upThenDemo(): Promise<void> {
  const services = facetServiceNames(compose).filter((n) => !service(compose, n).profiles?.length);
  for (const name of startOrder(compose, services)) {
    await untilDependenciesMet(name);
    if (isOneShot(service(compose, name))) {
      await runToCompletion(await startContainer(name), ONE_SHOT_MS);
      completed.add(name);
    } else {
      for (let replica = 1; replica <= (SCALE[name] ?? 1); replica++) await startContainer(name, replica);
    }
  }
  await untilDependenciesMet("demo");
  demo = await startContainer("demo");
}

async function stopContainer(c: Container): Promise<void> {
  if (c.exit !== undefined) return;
  c.proc.kill("SIGTERM");
  // A role drains within SHUTDOWN_DEADLINE_MS; then SIGKILL, as docker compose stop does after the grace period.
  const killer = setTimeout(() => c.proc.kill("SIGKILL"), config.SHUTDOWN_DEADLINE_MS + 5000);
  await c.exited;
  clearTimeout(killer);
}

describe("the compose stack's Facet services on this host", () => {
  beforeAll(async () => {
    // The stand-ins. A fresh database: the compose file's schema names (facet, facet_demo) are then the stack's own.
    databaseName = `facet_compose_${randomBytes(4).toString("hex")}`;
    admin = createDb(TEST_DATABASE_URL, { poolMax: 1 });
    await admin.raw("create database ??", [databaseName]);
    const url = new URL(TEST_DATABASE_URL);
    url.pathname = `/${databaseName}`;
    databaseUrl = url.href;
    ledgerDb = createDb(databaseUrl, { poolMax: 2 });
    [redis, s3] = await Promise.all([startPrivateRedis(), startS3()]);
    for (const bucket of bucketsCreated(service(compose, "minio-setup"))) await s3.createBucket(bucket);

    await upThenDemo();
    await waitFor(
      "the demo's backfill run completed",
      async () => {
        if (demo.exit !== undefined && demo.exit !== 0) throw new Error(`the demo failed: ${tail(demo)}`);
        const runs = await ledgerDb.withSchema(config.DB_SCHEMA).from("runs").select("id", "state");
        if (runs.length > 1) throw new Error(`the demo started ${runs.length} runs`);
        runId = runs[0]?.id as string;
        return runs[0]?.state === "completed";
      },
      BACKFILL_MS,
    ).catch((error: unknown) => {
      throw new Error(`${String(error)}\n${containers.map(tail).join("\n\n")}`);
    });
    // `facet run watch` ends within its second's poll of the completed run, then `run status` prints it.
    await runToCompletion(demo, ONE_SHOT_MS);
  });

  afterAll(async () => {
    await Promise.all(containers.map(stopContainer));
    await ledgerDb?.destroy();
    if (databaseName) await admin.raw("drop database if exists ?? with (force)", [databaseName]);
    await admin?.destroy();
    await redis?.stop();
    await s3?.close();
    await Promise.all(containers.map((c) => rm(c.tmp, { recursive: true, force: true })));
  });

  it("backfills the demo catalogue: every product has one outcome in the ledger", async () => {
    const catalogueSchema = config.CATALOGUE_RELATION.split(".")[0] as string;
    const [{ products }] = (await ledgerDb.withSchema(catalogueSchema).from("products").count({ products: "*" })) as [{ products: string }];
    expect(Number(products)).toBe(DEMO_PRODUCTS);
    const items = await ledgerDb.withSchema(config.DB_SCHEMA).from("run_items").where({ run_id: runId }).select("product_id", "state", "reason");
    expect(items).toHaveLength(DEMO_PRODUCTS);
    expect(new Set(items.map((i) => i.product_id)).size).toBe(DEMO_PRODUCTS);
    // The demo's photos are all sound: a failure here is the stack's (a store or the model), with its reason.
    expect(items.filter((i) => i.state !== "done"), JSON.stringify(items.filter((i) => i.state !== "done").slice(0, 5))).toEqual([]);
    expect(demo.output()).toContain(`${runId} completed: ${DEMO_PRODUCTS}/${DEMO_PRODUCTS} finished · done ${DEMO_PRODUCTS}`);
    // Two workers shared the work (the replicas scale, each with its own model cache).
    const workers = containers.filter((c) => c.service === "worker");
    expect(workers).toHaveLength(SCALE.worker as number);
    for (const w of workers) expect(w.output(), tail(w)).toContain("worker ready; taking jobs");
  });

  it("keeps every long-running process up and healthy by its compose healthcheck", async () => {
    const running = containers.filter((c) => !c.oneShot);
    expect(running.map((c) => c.name).sort()).toEqual(["producer-1", "serve-1", "worker-1", "worker-2"]);
    for (const c of running) {
      expect(c.exit, tail(c)).toBeUndefined();
      expect((await get(`http://127.0.0.1:${c.metricsPort}/healthz`))?.status, c.name).toBe(200);
      const check = service(compose, c.service).healthcheck;
      const [kind, program, ...args] = check && "test" in check ? check.test : [];
      expect(kind).toBe("CMD");
      const r = spawnSync(program === "node" ? process.execPath : (program as string), args, { cwd: REPO_ROOT_DIR, env: { PATH: process.env.PATH, ...c.env }, encoding: "utf8", timeout: 15_000 });
      expect(r.status, `${c.name}'s healthcheck: ${r.stdout}${r.stderr}`).toBe(0);
    }
  });

  it("serves the console: its sign-in page, where a token from `facet token create` signs in and shows the run", async () => {
    const serve = containers.find((c) => c.service === "serve") as Container;
    const base = `http://127.0.0.1:${serve.servePort}`;
    const form = await get(`${base}/console/sign-in`);
    expect(form?.status).toBe(200);
    const page = (await form?.text()) ?? "";
    expect(page).toContain('name="token"');

    // deploy/compose/README.md: docker compose run --rm --no-deps serve token create --role reviewer --name NAME
    const created = await startContainer("serve", 1, ["token", "create", "--role", "reviewer", "--name", "compose-smoke", "--json"]);
    await runToCompletion(created, ONE_SHOT_MS);
    const { token } = JSON.parse(created.output().trim().split("\n").at(-1) ?? "{}") as { token: string };
    expect(token).toMatch(/\S{20,}/);

    const csrfCookie = (form?.headers.getSetCookie().find((c) => c.startsWith("facet_csrf=")) ?? "").split(";")[0] as string;
    const csrf = /name="_csrf" value="([^"]+)"/.exec(page)?.[1] ?? "";
    const signIn = await get(`${base}/console/sign-in`, {
      method: "POST",
      redirect: "manual",
      headers: { "content-type": "application/x-www-form-urlencoded", cookie: csrfCookie },
      body: new URLSearchParams({ _csrf: csrf, token, next: "/console/runs" }),
    });
    expect(signIn?.status).toBe(303);
    const sessionCookie = (signIn?.headers.getSetCookie().find((c) => c.startsWith("facet_session=")) ?? "").split(";")[0] as string;
    const runs = await get(`${base}/console/runs`, { headers: { cookie: `${csrfCookie}; ${sessionCookie}` } });
    expect(runs?.status).toBe(200);
    expect(await runs?.text()).toContain(runId);
  });
});
