/**
 * docker-compose.yml checked without a container engine (none on this machine): the services
 * and what each waits for, health checks, published ports, the environment against Facet's
 * config schema, that the services agree with each other (credentials, buckets, ports), the
 * Prometheus and Grafana mounts (promtool loads the configuration and rules as mounted), the
 * Dockerfile target it builds and that every Facet command it runs exists.
 * compose.smoke.test.ts runs those commands.
 */
import { spawnSync } from "node:child_process";
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { parse } from "yaml";
import { describe, expect, it } from "vitest";
import { configSchema, LIBRARY_ENV, loadConfig } from "../../shared/config/config.js";
import { REPO_ROOT_DIR } from "../../shared/repo-root.js";
import {
  bindMount,
  bucketsCreated,
  COMPOSE_DIR,
  containerArgv,
  facetInvocations,
  facetServiceNames,
  IMAGE_ENTRYPOINT,
  IMAGE_WORKDIR,
  isOneShot,
  loadCompose,
  service,
  startOrder,
  type DependencyCondition,
} from "./compose-file.js";

const PROMTOOL = ["/usr/bin/promtool", "/usr/local/bin/promtool"].find((p) => existsSync(p));
if (!PROMTOOL) console.warn("compose: the promtool check is skipped: promtool is missing (apt-get install --no-install-recommends prometheus; .ci/run installs it)");

const compose = loadCompose();
const FACET = facetServiceNames(compose);
const envOf = (name: string) => service(compose, name).environment ?? {};
const facetEnv = envOf("serve");

const HEALTHY: DependencyCondition = "service_healthy";
const DONE: DependencyCondition = "service_completed_successfully";
/** What every pipeline role needs before it starts: its stores up, the buckets made, the tables migrated. */
const PIPELINE = { postgres: HEALTHY, redis: HEALTHY, minio: HEALTHY, "minio-setup": DONE, migrate: DONE };
/** Exactly what each Facet service waits for. */
const EXPECTED_DEPENDENCIES: Record<string, Record<string, DependencyCondition>> = {
  migrate: { postgres: HEALTHY },
  "model-setup": { minio: HEALTHY, "minio-setup": DONE },
  producer: PIPELINE,
  // Workers preload `latest` and serve describes with it: the model is published first.
  worker: { ...PIPELINE, "model-setup": DONE },
  serve: { ...PIPELINE, "model-setup": DONE },
  // The backfill it starts needs someone to feed it and someone to work it.
  demo: { ...PIPELINE, "model-setup": DONE, producer: HEALTHY, worker: HEALTHY },
};
/** Published ports, host side (all on 127.0.0.1) → the container port. */
const EXPECTED_PORTS: Record<string, string[]> = {
  serve: [`127.0.0.1:8080:${facetEnv.SERVE_PORT}`],
  grafana: ["127.0.0.1:3000:3000"],
  prometheus: ["127.0.0.1:9090:9090"],
  minio: ["127.0.0.1:9000:9000", "127.0.0.1:9001:9001"],
};

describe("docker-compose.yml", () => {
  it("has every service of the stack, the demo only in its profile", () => {
    expect(Object.keys(compose.services).sort()).toEqual(
      ["postgres", "redis", "minio", "minio-setup", "prometheus", "grafana", "migrate", "model-setup", "producer", "worker", "serve", "demo"].sort(),
    );
    for (const [name, s] of Object.entries(compose.services)) expect(s.profiles ?? [], name).toEqual(name === "demo" ? ["demo"] : []);
    expect(service(compose, "postgres").image).toMatch(/^postgres:16(\.|$)/);
    expect(service(compose, "redis").image).toMatch(/^redis:7(\.|$)/);
    expect(FACET.sort()).toEqual(["demo", "migrate", "model-setup", "producer", "serve", "worker"]);
  });

  it("builds every Facet service from the repository's Dockerfile, one image", () => {
    const builds = FACET.map((name) => service(compose, name));
    expect(new Set(builds.map((s) => s.image)).size).toBe(1);
    for (const s of builds) {
      expect(path.resolve(COMPOSE_DIR, s.build?.context ?? "")).toBe(path.resolve(REPO_ROOT_DIR));
      expect(s.build?.target).toBe("cpu");
    }
  });

  it("runs Redis with noeviction (BullMQ's keys must never be evicted)", () => {
    const command = service(compose, "redis").command ?? [];
    const i = command.indexOf("--maxmemory-policy");
    expect(i, JSON.stringify(command)).toBeGreaterThan(0);
    expect(command[i + 1]).toBe("noeviction");
  });

  it("publishes only the ports a person opens, each on 127.0.0.1 and once", () => {
    const published = Object.fromEntries(Object.entries(compose.services).filter(([, s]) => s.ports?.length).map(([name, s]) => [name, s.ports]));
    expect(published).toEqual(EXPECTED_PORTS);
    const hostPorts = Object.values(EXPECTED_PORTS).flat().map((p) => p.split(":")[1]);
    expect(new Set(hostPorts).size).toBe(hostPorts.length);
  });

  it("lets workers scale: no container name, host name or published port anywhere they would clash", () => {
    for (const [name, s] of Object.entries(compose.services)) {
      expect(s.container_name, `${name}: container_name`).toBeUndefined();
      expect(s.hostname, `${name}: hostname`).toBeUndefined();
    }
    const worker = service(compose, "worker");
    expect(worker.ports).toBeUndefined();
    expect(worker.deploy).toBeUndefined();
  });

  it("starts each Facet service after exactly what it needs, with the right conditions", () => {
    for (const name of FACET) {
      const conditions = Object.fromEntries(Object.entries(service(compose, name).depends_on ?? {}).map(([dep, d]) => [dep, d.condition]));
      expect(conditions, name).toEqual(EXPECTED_DEPENDENCIES[name]);
    }
    // Any dependency: on a one-shot, that it completed; on a long-running service, that it is healthy.
    for (const [name, s] of Object.entries(compose.services)) {
      for (const [dep, { condition }] of Object.entries(s.depends_on ?? {})) {
        expect(condition, `${name} → ${dep}`).toBe(isOneShot(service(compose, dep)) ? DONE : HEALTHY);
      }
    }
    expect(startOrder(compose, Object.keys(compose.services))).toHaveLength(Object.keys(compose.services).length);
  });

  it("gives every long-running service a health check and a restart policy; one-shots are never restarted", () => {
    for (const [name, s] of Object.entries(compose.services)) {
      if (isOneShot(s)) {
        expect(s.restart, name).toBe("no");
        continue;
      }
      expect(s.restart, name).toBe("unless-stopped");
      expect(s.healthcheck && "test" in s.healthcheck, `${name}: healthcheck`).toBe(true);
    }
    expect(Object.entries(compose.services).filter(([, s]) => isOneShot(s)).map(([n]) => n).sort()).toEqual(["demo", "migrate", "minio-setup", "model-setup"]);
  });

  it("checks a long-running Facet role's /healthz through bin/healthcheck.mjs, which exists", () => {
    for (const name of FACET.filter((n) => !isOneShot(service(compose, n)))) {
      const check = service(compose, name).healthcheck;
      expect(check && "test" in check ? check.test : undefined, name).toEqual(["CMD", "node", "bin/healthcheck.mjs"]);
      // A role stopped on `docker compose stop` drains within SHUTDOWN_DEADLINE_MS before its SIGKILL.
      expect(seconds(service(compose, name).stop_grace_period ?? "10s"), name).toBeGreaterThan(loadConfig(envOf(name)).SHUTDOWN_DEADLINE_MS / 1000);
    }
    expect(existsSync(path.join(REPO_ROOT_DIR, "bin/healthcheck.mjs"))).toBe(true);
  });

  it("runs every Facet service read-only, with a tmpfs /tmp holding the model cache", () => {
    for (const name of FACET) {
      const s = service(compose, name);
      expect(s.read_only, name).toBe(true);
      expect(s.tmpfs, name).toContain("/tmp");
      expect(loadConfig(envOf(name)).MODEL_CACHE_DIR.startsWith("/tmp/"), name).toBe(true);
    }
  });

  it("sets only variables Facet's config or its libraries read, valid ones, the same in every Facet service", () => {
    const known = new Set([...Object.keys(configSchema.in.shape), ...Object.keys(LIBRARY_ENV)]);
    for (const name of FACET) {
      const env = envOf(name);
      expect(Object.keys(env).filter((k) => !known.has(k)), `${name}: variables neither configSchema nor LIBRARY_ENV knows`).toEqual([]);
      expect(() => loadConfig(env), name).not.toThrow();
      expect(env, name).toEqual(facetEnv);
    }
  });

  it("points Facet at the compose services, with their credentials", () => {
    const pg = envOf("postgres");
    const db = new URL(facetEnv.DATABASE_URL ?? "");
    expect([db.hostname, db.port, db.username, db.password, db.pathname]).toEqual(["postgres", "5432", pg.POSTGRES_USER, pg.POSTGRES_PASSWORD, `/${pg.POSTGRES_DB}`]);
    expect(new URL(facetEnv.REDIS_URL ?? "").host).toBe("redis:6379");
    const minio = envOf("minio");
    expect(new URL(facetEnv.S3_ENDPOINT ?? "").host).toBe("minio:9000");
    expect(service(compose, "minio").command).toEqual(expect.arrayContaining(["server"]));
    expect([facetEnv.AWS_ACCESS_KEY_ID, facetEnv.AWS_SECRET_ACCESS_KEY]).toEqual([minio.MINIO_ROOT_USER, minio.MINIO_ROOT_PASSWORD]);
    expect(envOf("minio-setup").MC_HOST_local).toBe(`http://${minio.MINIO_ROOT_USER}:${minio.MINIO_ROOT_PASSWORD}@minio:9000`);
    expect(facetEnv.S3_FORCE_PATH_STYLE).toBe("true");
    // The stores' buckets are the ones minio-setup makes.
    const buckets = bucketsCreated(service(compose, "minio-setup"));
    for (const store of [facetEnv.IMAGE_STORE, facetEnv.MODEL_STORE]) expect(buckets).toContain(new URL(store ?? "").hostname);
    // `facet demo seed` creates the catalogue's schema and the view, function and labels in it.
    const config = loadConfig(facetEnv);
    for (const relation of [config.CATALOGUE_RELATION, config.CATALOGUE_APPLY_FUNCTION, config.LABELS_RELATION]) expect(relation).toMatch(/^facet_demo\./);
  });

  it("has the image's entrypoint in the Dockerfile's target, and every repository file its commands use", () => {
    const stage = dockerfileStage(service(compose, "worker").build?.target ?? "");
    expect(stage.entrypoint).toEqual(IMAGE_ENTRYPOINT);
    expect(stage.workdir).toBe(IMAGE_WORKDIR);
    const used = new Set<string>();
    for (const name of FACET) {
      const s = service(compose, name);
      const words = [...containerArgv(s), ...(s.healthcheck && "test" in s.healthcheck ? s.healthcheck.test : [])].flatMap((w) => w.split(/\s+/));
      for (const w of words) if (/^(bin|models)\//.test(w)) used.add(w);
    }
    used.add("models/demo.evaluation.json"); // `facet model publish models/demo`'s default report, beside the bundle
    expect([...used].sort()).toEqual(["bin/facet.mjs", "bin/healthcheck.mjs", "models/demo", "models/demo.evaluation.json"]);
    for (const file of used) {
      expect(existsSync(path.join(REPO_ROOT_DIR, file)), file).toBe(true);
      // Where a command's relative path points: under the image's WORKDIR.
      expect(placedAt(stage.placed, file), `${file} in the image's stage ${stage.name}`).toBe(path.posix.join(IMAGE_WORKDIR, file));
    }
  });

  it("runs only real facet commands, subcommands and flags", () => {
    const usage = facetHelp(["--help"]);
    expect(usage.status).toBe(0);
    const invocations = FACET.flatMap((name) => facetInvocations(service(compose, name)).map((args) => ({ name, args })));
    expect(invocations.length).toBeGreaterThanOrEqual(FACET.length);
    for (const { name, args } of invocations) {
      const [command, ...rest] = args;
      const line = usage.output.split("\n").find((l) => l.trimStart().startsWith(`facet ${command} `) || l.trim() === `facet ${command}`);
      expect(line, `${name}: facet ${command} is not in facet --help`).toBeDefined();
      // `facet db migrate|wait …`: the word after the command, when it names subcommands.
      const subcommands = /^\s*facet \S+ ([a-z-]+(?:\|[a-z-]+)*)(\s|$)/.exec(line ?? "")?.[1]?.split("|");
      if (subcommands) expect(subcommands, `${name}: facet ${args.join(" ")}`).toContain(rest[0]);
      const help = facetHelp([command as string, "--help"]);
      const text = help.status === 0 ? help.output : (line ?? "");
      for (const flag of rest.filter((w) => w.startsWith("--"))) expect(text, `${name}: facet ${command} ${rest[0]} ${flag}`).toContain(flag);
    }
  });

  it("interpolates DEMO_PRODUCTS (default 500) and passes $$ to the shell as $", () => {
    const script = (vars: Record<string, string>) => loadCompose(vars).services.demo?.command?.[0] ?? "";
    expect(script({})).toContain("demo seed --products 500\n");
    expect(script({ DEMO_PRODUCTS: "40" })).toContain("demo seed --products 40\n");
    expect(script({})).toContain('run watch "$run"');
    expect(script({})).not.toContain("$$");
  });
});

describe("Prometheus in the compose stack", () => {
  const prometheus = service(compose, "prometheus");
  const mounts = (prometheus.volumes ?? []).flatMap((v) => bindMount(v) ?? []);
  const configFile = (prometheus.command ?? []).find((a) => a.startsWith("--config.file="))?.slice("--config.file=".length);
  const mountedConfig = mounts.find((m) => m.target === configFile);
  const config = parse(readFileSync(mountedConfig?.source ?? "/nonexistent", "utf8")) as {
    scrape_configs: Array<{ job_name: string; dns_sd_configs?: Array<{ names: string[]; type: string; port: number }> }>;
  };

  it("mounts files of this repository, read-only, its configuration where --config.file says", () => {
    expect(mountedConfig?.source).toBe(path.join(COMPOSE_DIR, "prometheus.yml"));
    for (const m of mounts) {
      expect(existsSync(m.source), m.source).toBe(true);
      expect(m.readOnly, m.source).toBe(true);
    }
    expect(mounts.map((m) => m.source)).toContain(path.join(REPO_ROOT_DIR, "deploy/prometheus/rules"));
  });

  it("scrapes every job the rules and dashboards know, each a compose service on its METRICS_PORT", () => {
    const upstream = parse(readFileSync(path.join(REPO_ROOT_DIR, "deploy/prometheus/prometheus.yml"), "utf8")) as { scrape_configs: Array<{ job_name: string }> };
    const jobs = config.scrape_configs.map((j) => j.job_name);
    expect(jobs).toEqual(expect.arrayContaining(upstream.scrape_configs.map((j) => j.job_name)));
    for (const job of config.scrape_configs) {
      const [sd, ...more] = job.dns_sd_configs ?? [];
      expect(more, job.job_name).toEqual([]);
      expect(sd?.type, job.job_name).toBe("A");
      for (const name of sd?.names ?? []) {
        expect(FACET, `${job.job_name}: ${name}`).toContain(name);
        expect(String(sd?.port), `${job.job_name}: ${name}`).toBe(envOf(name).METRICS_PORT);
        expect(isOneShot(service(compose, name)), name).toBe(false);
      }
    }
    // Grafana's datasource is http://prometheus:9090: the port Prometheus listens on.
    expect(prometheus.command).toContain("--web.listen-address=:9090");
  });

  it.skipIf(!PROMTOOL)("loads as mounted: promtool checks the configuration and every rules file", () => {
    const root = mkdtempSync(path.join(os.tmpdir(), "facet-compose-prometheus-"));
    try {
      // The container's filesystem as far as the mounts make it.
      for (const m of mounts) cpSync(m.source, path.join(root, m.target), { recursive: true });
      const r = spawnSync(PROMTOOL as string, ["check", "config", path.join(root, configFile ?? "")], { encoding: "utf8" });
      const output = `${r.stdout}${r.stderr}`;
      expect(r.status, output).toBe(0);
      const rules = readdirSync(path.join(REPO_ROOT_DIR, "deploy/prometheus/rules")).filter((f) => f.endsWith(".yml"));
      expect(rules.length).toBeGreaterThan(0);
      for (const file of rules) expect(output).toContain(`Checking ${path.join(root, "etc/prometheus/rules", file)}`);
      expect(output).not.toMatch(/FAILED/);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});

describe("Grafana in the compose stack", () => {
  const grafana = service(compose, "grafana");
  const mounts = (grafana.volumes ?? []).flatMap((v) => bindMount(v) ?? []);
  const provisioning = mounts.find((m) => m.target === "/etc/grafana/provisioning");

  it("provisions grafana/provisioning, read-only, where Grafana reads it", () => {
    expect(provisioning?.source).toBe(path.join(REPO_ROOT_DIR, "grafana/provisioning"));
    for (const m of mounts) {
      expect(statSync(m.source).isDirectory(), m.source).toBe(true);
      expect(m.readOnly, m.source).toBe(true);
    }
  });

  it("mounts the dashboards where the provider looks, and the datasource is this Prometheus", () => {
    const provider = parse(readFileSync(path.join(provisioning?.source ?? "", "dashboards/facet.yaml"), "utf8")) as { providers: Array<{ options: { path: string } }> };
    const dashboards = mounts.find((m) => m.target === provider.providers[0]?.options.path);
    expect(dashboards?.source).toBe(path.join(REPO_ROOT_DIR, "grafana/dashboards"));
    expect(readdirSync(dashboards?.source ?? "").filter((f) => f.endsWith(".json")).length).toBeGreaterThan(0);
    const datasources = parse(readFileSync(path.join(provisioning?.source ?? "", "datasources/prometheus.yaml"), "utf8")) as { datasources: Array<{ type: string; url: string }> };
    const url = new URL(datasources.datasources.find((d) => d.type === "prometheus")?.url ?? "");
    expect(compose.services[url.hostname], `${url.hostname} is a compose service`).toBeDefined();
    expect(service(compose, url.hostname).command).toContain(`--web.listen-address=:${url.port}`);
  });
});

// ---------------------------------------------------------------- helpers

/** A Compose duration (`30s`, `1m30s`) in seconds. */
function seconds(duration: string): number {
  const unit: Record<string, number> = { ms: 0.001, s: 1, m: 60, h: 3600 };
  return [...duration.matchAll(/(\d+)(ms|s|m|h)/g)].reduce((sum, [, n, u]) => sum + Number(n) * (unit[u as string] ?? NaN), 0);
}

const helps = new Map<string, { status: number | null; output: string }>();
/** `node bin/facet.mjs ARGS` (the compiled CLI vitest builds first): its exit status and output, once per ARGS. */
function facetHelp(args: string[]): { status: number | null; output: string } {
  const key = args.join(" ");
  const known = helps.get(key);
  if (known) return known;
  const r = spawnSync(process.execPath, [path.join(REPO_ROOT_DIR, "bin/facet.mjs"), ...args], { cwd: REPO_ROOT_DIR, encoding: "utf8" });
  const result = { status: r.status, output: `${r.stdout}${r.stderr}` };
  helps.set(key, result);
  return result;
}

/** A build-context path and where it lands in a stage's filesystem (a folder: its contents). */
interface Placed {
  source: string;
  target: string;
  folder: boolean;
}

/**
 * One stage of the Dockerfile as far as these checks need it: its ENTRYPOINT (exec form), its
 * WORKDIR, and where the build context's files land in it, followed through `FROM <stage>` and
 * `COPY --from=<stage>` (Docker's rules: a folder's contents are copied; a file into a target
 * ending in / keeps its name). A small reader for the instructions used in this Dockerfile.
 */
function dockerfileStage(name: string): { name: string; entrypoint: string[] | undefined; workdir: string | undefined; placed: Placed[] } {
  const lines = readFileSync(path.join(REPO_ROOT_DIR, "Dockerfile"), "utf8")
    .replace(/\\\n/g, " ")
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => l !== "" && !l.startsWith("#"));
  const isFolder = (source: string) => statSync(path.join(REPO_ROOT_DIR, source)).isDirectory();
  const stages = new Map<string, { entrypoint: string[] | undefined; workdir: string; placed: Placed[] }>();
  let current: { entrypoint: string[] | undefined; workdir: string; placed: Placed[] } | undefined;
  for (const line of lines) {
    const [keyword = "", ...words] = line.split(/\s+/);
    if (keyword === "FROM") {
      const parent = stages.get(words[0] ?? "");
      current = { entrypoint: parent?.entrypoint, workdir: parent?.workdir ?? "/", placed: [...(parent?.placed ?? [])] };
      if (words[1]?.toUpperCase() === "AS" && words[2]) stages.set(words[2], current);
      continue;
    }
    if (!current) continue;
    if (keyword === "ENTRYPOINT") current.entrypoint = JSON.parse(line.slice(keyword.length)) as string[];
    if (keyword === "WORKDIR") current.workdir = path.posix.resolve(current.workdir, words[0] ?? "");
    if (keyword !== "COPY") continue;
    const from = words.find((w) => w.startsWith("--from="))?.slice("--from=".length);
    const paths = words.filter((w) => !w.startsWith("--"));
    const dest = paths.at(-1) ?? "";
    const target = path.posix.resolve(current.workdir, dest);
    for (const source of paths.slice(0, -1)) {
      if (from === undefined) {
        const folder = isFolder(source);
        current.placed.push({ source, folder, target: folder || !dest.endsWith("/") ? target : path.posix.join(target, path.posix.basename(source)) });
        continue;
      }
      // From another stage: what landed under `source` there lands under `target` here.
      const root = path.posix.resolve("/", source);
      for (const p of stages.get(from)?.placed ?? []) {
        if (p.target === root || p.target.startsWith(root === "/" ? "/" : `${root}/`)) current.placed.push({ ...p, target: path.posix.join(target, path.posix.relative(root, p.target)) });
      }
    }
  }
  const stage = stages.get(name);
  if (!stage) throw new Error(`the Dockerfile has no stage '${name}' (stages: ${[...stages.keys()].join(", ")}); docker-compose.yml builds target ${name}`);
  return { name, ...stage };
}

/** Where a build-context file is in the stage's filesystem, if it is copied there. */
function placedAt(placed: readonly Placed[], file: string): string | undefined {
  for (const p of placed) {
    if (p.source === file) return p.target;
    if (p.folder && file.startsWith(`${p.source}/`)) return path.posix.join(p.target, file.slice(p.source.length + 1));
  }
  return undefined;
}
