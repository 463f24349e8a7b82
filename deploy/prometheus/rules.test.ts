/**
 * Facet's Prometheus configuration and alerts, checked without a cluster:
 * - promtool: the rules file is valid, its unit tests (tests/facet-alerts.test.yml) pass,
 *   and prometheus.yml is valid with its rule_files glob resolved relative to it;
 * - every alert has severity, summary, description and a runbook_url whose heading exists in
 *   RUNBOOK.md, a unit test where it fires and one where it does not, and reads only metrics
 *   listed in shared/metrics/METRICS.md (or `up`, or a recording rule of the file);
 * - the Kubernetes scrape jobs select the pods deploy/kubernetes/base/*.yaml label, and a real
 *   Prometheus applies their relabelling as intended (pods fed through file_sd with the
 *   __meta_kubernetes_* labels Kubernetes discovery would give them).
 * promtool and prometheus come from Debian's `prometheus` package (.ci/run installs it); the
 * checks that need them are skipped, with a message, where they are missing.
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const RULES = "deploy/prometheus/rules/facet-alerts.yml";
const RULE_TESTS = "deploy/prometheus/tests/facet-alerts.test.yml";
const CONFIG = "deploy/prometheus/prometheus.yml";
const RUNBOOK = "deploy/prometheus/RUNBOOK.md";
const METRICS_DOC = "shared/metrics/METRICS.md";
const K8S_SCRAPE = "deploy/kubernetes/prometheus-scrape/prometheus-scrape.yaml";

const PROMTOOL = ["/usr/bin/promtool", "/usr/local/bin/promtool"].find((p) => existsSync(p));
const PROMETHEUS = ["/usr/bin/prometheus", "/usr/local/bin/prometheus"].find((p) => existsSync(p));
if (!PROMTOOL) console.warn("promtool checks skipped: promtool is missing (apt-get install --no-install-recommends prometheus; .ci/run installs it)");
if (!PROMETHEUS) console.warn("Kubernetes relabelling check skipped: prometheus is missing (apt-get install --no-install-recommends prometheus; .ci/run installs it)");

// ---------------------------------------------------------------- helpers

/** YAML to plain data with Python's YAML parser (as deploy/manifests.test.ts does). */
function parseYaml<T>(text: string): T {
  const out = spawnSync("/usr/bin/python3", ["-c", "import json,sys,yaml; print(json.dumps(yaml.safe_load(sys.stdin.read())))"], { input: text, encoding: "utf8" });
  if (out.status !== 0) throw new Error(`YAML parse failed: ${out.stderr}`);
  return JSON.parse(out.stdout) as T;
}
const read = (file: string): string => readFileSync(path.join(ROOT, file), "utf8");
const toYaml = (data: unknown): string => JSON.stringify(data, null, 2); // JSON is YAML

function promtool(...args: string[]): { status: number | null; output: string } {
  const r = spawnSync(PROMTOOL as string, args, { cwd: ROOT, encoding: "utf8" });
  return { status: r.status, output: `$ promtool ${args.join(" ")}\n${r.stdout}${r.stderr}${r.error ? String(r.error) : ""}` };
}

interface Rule {
  record?: string;
  alert?: string;
  expr: string;
  for?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}
interface RuleFile {
  groups: Array<{ name: string; rules: Rule[] }>;
}
interface RuleTests {
  rule_files: string[];
  tests: Array<{ alert_rule_test?: Array<{ alertname: string; eval_time: string; exp_alerts?: unknown[] | null }> }>;
}
interface ScrapeConfig {
  job_name: string;
  metrics_path?: string;
  file_sd_configs?: Array<{ files: string[]; refresh_interval?: string }>;
  kubernetes_sd_configs?: Array<{ role: string }>;
  relabel_configs?: Array<{ source_labels?: string[]; regex?: string; action?: string; target_label?: string }>;
}

const ruleFile = parseYaml<RuleFile>(read(RULES));
const rules = ruleFile.groups.flatMap((g) => g.rules);
const alerts = rules.filter((r): r is Rule & { alert: string } => typeof r.alert === "string");
const recorded = new Set(rules.flatMap((r) => (r.record ? [r.record] : [])));

/** GitHub's anchor for a heading: lowercase, punctuation dropped, spaces to hyphens. */
function anchor(heading: string): string {
  return heading.trim().toLowerCase().replace(/[^\p{L}\p{N}\s_-]/gu, "").replace(/\s/g, "-");
}

/** Metric names a PromQL expression reads (rough, but enough for the expressions here). */
function metricNames(expr: string): string[] {
  const e = expr
    .replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`/g, '""') // string literals
    .replace(/\{[^}]*\}/g, " ") // label matchers
    .replace(/\[[^\]]*\]/g, " ") // ranges and subqueries
    .replace(/\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, " ") // label lists
    .replace(/\boffset\s+-?\w+/g, " ")
    .replace(/@\s*[\w.()]+/g, " ");
  const keywords = new Set(["and", "or", "unless", "bool", "by", "without", "on", "ignoring", "group_left", "group_right", "offset", "inf", "nan", "atan2"]);
  const names = new Set<string>();
  for (const m of e.matchAll(/[A-Za-z_:][\w:]*/g)) {
    const before = e[(m.index ?? 0) - 1] ?? " ";
    const after = e.slice((m.index ?? 0) + m[0].length);
    if (/[\w.]/.test(before)) continue; // part of a number (1e3) or of another token
    if (/^\s*\(/.test(after)) continue; // a function or an aggregation
    if (keywords.has(m[0].toLowerCase())) continue;
    names.add(m[0]);
  }
  return [...names];
}

/** Metric names METRICS.md lists: each table's first column, and the default process and Node.js metrics it names. */
function documentedMetrics(): Set<string> {
  const doc = read(METRICS_DOC);
  const names = new Set<string>();
  for (const m of doc.matchAll(/^\|\s*`([A-Za-z_:][\w:]*)`\s*\|/gm)) names.add(m[1] as string);
  for (const m of doc.matchAll(/`((?:process|nodejs)_[\w]+)`/g)) names.add(m[1] as string);
  return names;
}

/** Histograms and summaries are read through their _bucket, _sum and _count series. */
function isDocumented(name: string, documented: Set<string>): boolean {
  return documented.has(name) || documented.has(name.replace(/_(?:bucket|sum|count)$/, ""));
}

/** Shell-style glob (only `*`), as Prometheus matches file_sd and rule_files paths within one folder. */
function globMatches(glob: string, name: string): boolean {
  const re = new RegExp(`^${glob.split("*").map((s) => s.replace(/[.+?^${}()|[\]\\]/g, "\\$&")).join("[^/]*")}$`);
  return re.test(name);
}

// ---------------------------------------------------------------- promtool

describe.skipIf(!PROMTOOL)("promtool", () => {
  it("checks the rules file", () => {
    const r = promtool("check", "rules", RULES);
    expect(r.status, r.output).toBe(0);
    expect(r.output).toContain(`SUCCESS: ${rules.length} rules found`);
  });

  it("passes the rules' unit tests", () => {
    const r = promtool("test", "rules", RULE_TESTS);
    expect(r.status, r.output).toBe(0);
    expect(r.output).toContain("SUCCESS");
  });

  it("checks prometheus.yml, loading exactly the rules file through its rule_files glob", () => {
    // Run from the repository root: the glob must resolve relative to the config file.
    const r = promtool("check", "config", CONFIG);
    expect(r.status, r.output).toBe(0);
    expect(r.output, r.output).toMatch(/SUCCESS: 1 rule files found/);
    expect(r.output, r.output).toContain(`Checking ${RULES}`);
  });

  it("checks the Kubernetes scrape jobs inside a configuration", async () => {
    const inner = k8sScrape();
    const tmp = await mkdtemp(path.join(os.tmpdir(), "facet-k8s-scrape-"));
    try {
      const file = path.join(tmp, "prometheus.yml");
      await writeFile(file, toYaml({ global: { scrape_interval: "15s" }, scrape_configs: inner.scrape_configs }));
      let r = promtool("check", "config", file);
      if (r.status !== 0 && /field kubernetes_sd_configs not found/.test(r.output)) {
        // Debian builds Prometheus without Kubernetes discovery: check everything else (the
        // relabelling above all) with the discovery swapped for file_sd.
        const swapped = inner.scrape_configs.map(({ kubernetes_sd_configs: _k, ...job }) => ({ ...job, file_sd_configs: [{ files: ["pods.json"] }] }));
        await writeFile(file, toYaml({ global: { scrape_interval: "15s" }, scrape_configs: swapped }));
        r = promtool("check", "config", file);
      }
      expect(r.status, r.output).toBe(0);
    } finally {
      await rm(tmp, { recursive: true, force: true });
    }
  });
});

// ---------------------------------------------------------------- the alerts

describe("alerting rules", () => {
  it("has the expected alerts and recording groups", () => {
    expect(ruleFile.groups.map((g) => g.name)).toEqual(["facet-recording", "facet-alerts"]);
    expect(alerts.map((a) => a.alert)).toEqual(
      expect.arrayContaining([
        "FacetRunStalled", "FacetHighFailureShare", "FacetBacklogStale", "FacetWorkersDown",
        "FacetNoWorkers", "FacetInferenceThroughputLow", "FacetProducerDown",
      ]),
    );
    expect(new Set(alerts.map((a) => a.alert)).size).toBe(alerts.length);
  });

  const runbook = read(RUNBOOK);
  const headings = new Set([...runbook.matchAll(/^#{1,6}\s+(.+)$/gm)].map((m) => anchor(m[1] as string)));

  it.each(alerts.map((a) => [a.alert, a] as const))("%s has a severity, summary, description and a runbook_url that exists", (name, a) => {
    expect(["page", "ticket"]).toContain(a.labels?.severity);
    expect(a.annotations?.summary?.trim(), "summary").toBeTruthy();
    expect(a.annotations?.summary, "summary is one line").not.toContain("\n");
    expect(a.annotations?.description?.trim(), "description").toBeTruthy();
    const url = a.annotations?.runbook_url ?? "";
    expect(url).toBe(`${RUNBOOK}#${name.toLowerCase()}`);
    const [file, fragment] = url.split("#");
    expect(existsSync(path.join(ROOT, file as string)), `${file} exists`).toBe(true);
    expect([...headings], `a heading in ${RUNBOOK} for #${fragment}`).toContain(fragment);
  });

  it("has a unit test where each alert fires and one where it does not", () => {
    const t = parseYaml<RuleTests>(read(RULE_TESTS));
    expect(t.rule_files.map((f) => path.normalize(path.join(path.dirname(RULE_TESTS), f)))).toEqual([RULES]);
    const cases = t.tests.flatMap((g) => g.alert_rule_test ?? []);
    const missing: string[] = [];
    for (const { alert } of alerts) {
      const mine = cases.filter((c) => c.alertname === alert);
      if (!mine.some((c) => (c.exp_alerts ?? []).length > 0)) missing.push(`${alert}: no case where it fires`);
      if (!mine.some((c) => (c.exp_alerts ?? []).length === 0)) missing.push(`${alert}: no case where it does not fire`);
    }
    const unknown = cases.filter((c) => !alerts.some((a) => a.alert === c.alertname)).map((c) => c.alertname);
    expect(missing).toEqual([]);
    expect(unknown, "test cases for alerts the file does not have").toEqual([]);
  });

  it("reads only metrics METRICS.md lists, `up`, or its own recording rules", () => {
    const documented = documentedMetrics();
    expect(documented.size).toBeGreaterThan(10);
    const unknown: string[] = [];
    for (const rule of rules) {
      // The expression, and any query an annotation template runs.
      const queries = [rule.expr, ...Object.values(rule.annotations ?? {}).flatMap((v) => [...v.matchAll(/query\s+"((?:[^"\\]|\\.)*)"/g)].map((m) => m[1] as string))];
      for (const name of queries.flatMap(metricNames)) {
        if (name === "up" || recorded.has(name) || isDocumented(name, documented)) continue;
        unknown.push(`${rule.alert ?? rule.record}: ${name}`);
      }
    }
    expect(unknown).toEqual([]);
  });

  it("extracts metric names from PromQL (self-check)", () => {
    expect(metricNames('sum by (run_id, outcome) (rate(facet_products_processed_total{outcome="done"}[10m] offset 5m)) > 0.1 and on () absent(up{job="x"} == 1)').sort()).toEqual(["facet_products_processed_total", "up"]);
    expect(metricNames("histogram_quantile(0.95, sum by (le) (rate(facet_stage_duration_seconds_bucket[5m]))) < 1e3")).toEqual(["facet_stage_duration_seconds_bucket"]);
  });
});

// ---------------------------------------------------------------- scrape configuration

describe("prometheus.yml", () => {
  const config = parseYaml<{ global: Record<string, string>; rule_files: string[]; scrape_configs: ScrapeConfig[] }>(read(CONFIG));

  it("scrapes facet-worker and facet-producer from target files next to it", () => {
    expect(config.global).toMatchObject({ scrape_interval: "15s", evaluation_interval: "15s" });
    expect(config.rule_files).toEqual(["rules/*.yml"]);
    expect(config.scrape_configs.map((j) => [j.job_name, j.file_sd_configs?.flatMap((f) => f.files)])).toEqual([
      ["facet-worker", ["targets/facet-worker*.json"]],
      ["facet-producer", ["targets/facet-producer*.json"]],
    ]);
  });

  it("loads no file but rules from rules/, and no example as targets", () => {
    const rulesDir = path.join(ROOT, "deploy/prometheus/rules");
    const ruleFiles = readdirSync(rulesDir).filter((f) => globMatches("*.yml", f));
    for (const f of ruleFiles) expect(parseYaml<RuleFile>(read(`deploy/prometheus/rules/${f}`)).groups, `${f} is a rules file`).toBeInstanceOf(Array);
    const globs = config.scrape_configs.flatMap((j) => j.file_sd_configs?.flatMap((f) => f.files) ?? []).map((g) => path.basename(g));
    const examples = readdirSync(path.join(ROOT, "deploy/prometheus/targets/examples"));
    expect(examples.length).toBeGreaterThan(0);
    for (const e of examples) {
      expect(globs.some((g) => globMatches(g, e)), `examples/${e} matches a target glob by name`).toBe(true); // named like real files…
      const groups = JSON.parse(read(`deploy/prometheus/targets/examples/${e}`)) as Array<{ targets: string[]; labels?: Record<string, string> }>;
      for (const g of groups) for (const t of g.targets) expect(t).toMatch(/^[\w.-]+:\d+$/);
    }
    // …but the globs do not descend into examples/, and real target files are git-ignored.
    expect(globs.every((g) => !g.includes("/"))).toBe(true);
    expect(read("deploy/prometheus/targets/.gitignore")).toMatch(/^\/\*\.json$/m);
  });
});

// ---------------------------------------------------------------- Kubernetes

function k8sScrape(): { scrape_configs: ScrapeConfig[] } {
  const cm = parseYaml<{ kind: string; metadata: { name: string }; data: Record<string, string> }>(read(K8S_SCRAPE));
  expect(cm.kind).toBe("ConfigMap");
  return parseYaml<{ scrape_configs: ScrapeConfig[] }>(cm.data["facet-scrape.yml"] as string);
}

function podLabels(manifest: string): Record<string, string> {
  const docs = parseYaml<{ kind: string; spec: { template: { metadata: { labels: Record<string, string> } } } }>(read(manifest).split(/^---$/m)[0] as string);
  return docs.spec.template.metadata.labels;
}

describe("Kubernetes scrape jobs", () => {
  it("keep the pods the Deployments label, on the port named metrics, with instance = pod name", () => {
    const { scrape_configs } = k8sScrape();
    expect(scrape_configs.map((j) => j.job_name)).toEqual(["facet-worker", "facet-producer"]);
    for (const job of scrape_configs) {
      const role = job.job_name.replace(/^facet-/, "");
      const labels = podLabels(`deploy/kubernetes/base/${role}.yaml`);
      expect(job.kubernetes_sd_configs?.[0]?.role).toBe("pod");
      const keep = (job.relabel_configs ?? []).filter((r) => r.action === "keep");
      const byPodLabels = keep.find((r) => r.source_labels?.every((l) => l.startsWith("__meta_kubernetes_pod_label_")));
      const expected = byPodLabels?.source_labels?.map((l) => labels[l.replace("__meta_kubernetes_pod_label_", "")]).join(";");
      expect(byPodLabels?.regex, `${job.job_name} keeps ${role}.yaml's pod labels ${JSON.stringify(labels)}`).toBe(expected);
      expect(keep).toContainEqual({ source_labels: ["__meta_kubernetes_pod_container_port_name"], regex: "metrics", action: "keep" });
      expect(job.relabel_configs).toContainEqual({ source_labels: ["__meta_kubernetes_pod_name"], target_label: "instance" });
    }
  });

  describe.skipIf(!PROMETHEUS)("in a real Prometheus (pods fed through file_sd with Kubernetes' meta labels)", () => {
    let tmp: string;
    let prom: ChildProcess | undefined;
    let promLog = "";
    let url: string;

    // One target per (pod, container port), as Kubernetes discovery gives them.
    const pod = (name: string, ip: string, labels: Record<string, string>, port: string, phase = "Running") => ({
      targets: [`${ip}:${port === "metrics" ? 9464 : 9229}`],
      labels: {
        __meta_kubernetes_namespace: "facet",
        __meta_kubernetes_pod_name: name,
        __meta_kubernetes_pod_node_name: "node-1",
        __meta_kubernetes_pod_phase: phase,
        __meta_kubernetes_pod_container_port_name: port,
        ...Object.fromEntries(Object.entries(labels).map(([k, v]) => [`__meta_kubernetes_pod_label_${k}`, v])),
      },
    });

    beforeAll(async () => {
      tmp = await mkdtemp(path.join(os.tmpdir(), "facet-k8s-relabel-"));
      const worker = podLabels("deploy/kubernetes/base/worker.yaml");
      const producer = podLabels("deploy/kubernetes/base/producer.yaml");
      await writeFile(path.join(tmp, "pods.json"), JSON.stringify([
        pod("facet-worker-7d9f-abcde", "10.0.0.1", worker, "metrics"),
        pod("facet-worker-7d9f-abcde", "10.0.0.1", worker, "debug"), // another port of the same pod
        pod("facet-worker-7d9f-evict", "10.0.0.2", worker, "metrics", "Failed"),
        pod("facet-producer-5c4b-fghij", "10.0.0.3", producer, "metrics"),
        pod("other-app-1", "10.0.0.4", { app: "other", role: "worker" }, "metrics"),
      ]));
      const jobs = k8sScrape().scrape_configs.map(({ kubernetes_sd_configs: _k, ...job }) => ({ ...job, file_sd_configs: [{ files: ["pods.json"] }] }));
      await writeFile(path.join(tmp, "prometheus.yml"), toYaml({ global: { scrape_interval: "1m" }, scrape_configs: jobs }));
      const port = await freePort();
      url = `http://127.0.0.1:${port}`;
      prom = spawn(PROMETHEUS as string, [`--config.file=${path.join(tmp, "prometheus.yml")}`, `--storage.tsdb.path=${path.join(tmp, "tsdb")}`, `--web.listen-address=127.0.0.1:${port}`], { stdio: ["ignore", "ignore", "pipe"] });
      prom.stderr?.on("data", (d) => (promLog = (promLog + d).slice(-4000)));
    });

    afterAll(async () => {
      if (prom && prom.exitCode === null) {
        const exited = new Promise((r) => prom?.once("exit", r));
        prom.kill("SIGTERM");
        await exited;
      }
      if (tmp) await rm(tmp, { recursive: true, force: true });
    });

    it("keeps one target per Facet pod, in the right job, named after the pod", async () => {
      type Target = { labels: Record<string, string>; scrapePool: string };
      let active: Target[] = [];
      const deadline = Date.now() + 60_000;
      while (Date.now() < deadline) {
        try {
          const res = (await (await fetch(`${url}/api/v1/targets?state=active`)).json()) as { data: { activeTargets: Target[] } };
          active = res.data.activeTargets;
          if (new Set(active.map((t) => t.scrapePool)).size >= 2) break;
        } catch {
          // not listening yet
        }
        if (prom?.exitCode !== null) throw new Error(`prometheus exited: ${promLog}`);
        await new Promise((r) => setTimeout(r, 250));
      }
      const seen = active.map((t) => ({ pool: t.scrapePool, job: t.labels.job, instance: t.labels.instance, namespace: t.labels.namespace, node: t.labels.node })).sort((a, b) => (a.job ?? "").localeCompare(b.job ?? ""));
      expect(seen, promLog).toEqual([
        { pool: "facet-producer", job: "facet-producer", instance: "facet-producer-5c4b-fghij", namespace: "facet", node: "node-1" },
        { pool: "facet-worker", job: "facet-worker", instance: "facet-worker-7d9f-abcde", namespace: "facet", node: "node-1" },
      ]);
    });
  });
});

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}
