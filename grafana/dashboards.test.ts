import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import {
  DASHBOARD_DIR, allPanels, dashboardFiles, dashboardQueries, expandTemplate, loadDashboards, parseLabelValues, variableQueries,
  type Dashboard,
} from "./dashboards.js";

const ROOT = fileURLToPath(new URL("../", import.meta.url));
const PROMTOOL = "/usr/bin/promtool";
const DS_REF = { type: "prometheus", uid: "${datasource}" };

/**
 * Metric names Facet exports, from shared/metrics/METRICS.md: the first column of its tables
 * (histograms also as `_bucket`/`_sum`/`_count`), plus the prom-client default metrics the
 * prose names (`process_…`, `nodejs_…`).
 */
function catalogue(): Set<string> {
  const md = readFileSync(path.join(ROOT, "shared/metrics/METRICS.md"), "utf8");
  const names = new Set<string>();
  for (const [, name, type] of md.matchAll(/^\|\s*`([a-z_:][a-z0-9_:]*)`\s*\|\s*([^|]*)\|/gm)) {
    names.add(name!);
    if (type!.includes("histogram")) for (const s of ["_bucket", "_sum", "_count"]) names.add(name! + s);
  }
  for (const [, name] of md.matchAll(/`((?:process|nodejs)_[a-z0-9_]+)`/g)) names.add(name!);
  return names;
}

const KEYWORDS = new Set(["by", "without", "on", "ignoring", "group_left", "group_right", "bool", "and", "or", "unless", "offset", "inf", "nan"]);

/** Metric names in a PromQL expression: identifiers left once strings, matchers, ranges and grouping clauses are gone, that are not function calls. */
function metricNames(expr: string): string[] {
  const bare = expr
    .replace(/"(?:[^"\\]|\\.)*"/g, '""')
    .replace(/\{[^}]*\}/g, " ")
    .replace(/\[[^\]]*\]/g, " ")
    .replace(/\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, " ");
  return [...bare.matchAll(/(?<![\w.:])([a-zA-Z_:][\w:]*)(?![\w:]|\s*\()/g)].map((m) => m[1]!).filter((n) => !KEYWORDS.has(n.toLowerCase()));
}

/** Brackets nest and close, and quotes close (outside strings). */
function balanced(expr: string): boolean {
  const stack: string[] = [];
  const pairs: Record<string, string> = { ")": "(", "]": "[", "}": "{" };
  for (let i = 0; i < expr.length; i++) {
    const c = expr[i]!;
    if (c === '"') {
      for (i++; i < expr.length && expr[i] !== '"'; i++) if (expr[i] === "\\") i++;
      if (i >= expr.length) return false;
    } else if ("([{".includes(c)) stack.push(c);
    else if (c in pairs && stack.pop() !== pairs[c]) return false;
  }
  return stack.length === 0;
}

/** YAML through Python's parser, as deploy/manifests.test.ts does (no YAML package in node_modules). */
function yaml(file: string): any {
  return JSON.parse(execFileSync("/usr/bin/python3", ["-c", "import json,sys,yaml; print(json.dumps(yaml.safe_load(open(sys.argv[1]))))", file], { encoding: "utf8" }));
}

const tmp = mkdtempSync(path.join(tmpdir(), "facet-grafana-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const files = dashboardFiles();

describe("Grafana dashboards", () => {
  it("are the two pinned ones", () => {
    expect(files).toEqual(["facet-fleet.json", "facet-runs.json"]);
  });

  describe.each(files)("%s", (file) => {
    const text = readFileSync(path.join(DASHBOARD_DIR, file), "utf8");
    const d = JSON.parse(text) as Dashboard;
    const panels = allPanels(d.panels);
    const queryPanels = panels.filter((p) => p.type !== "row" && p.type !== "text");

    it("is a provisionable Grafana 10 model with the uid of its file", () => {
      expect(d.uid).toBe(path.basename(file, ".json"));
      expect(d.schemaVersion).toBeGreaterThanOrEqual(36);
      expect(d.title).toMatch(/^Facet · /);
      expect(d.tags).toEqual(["facet"]);
      expect(d.editable).toBe(true);
      expect(d).toHaveProperty("time.from");
      expect(d).toHaveProperty("refresh");
      expect(text).not.toContain("__inputs");
      expect(text).not.toMatch(/\$\{DS_/); // no import-time placeholders
    });

    it("has unique panel ids and sane grid positions", () => {
      const ids = panels.map((p) => p.id);
      expect(ids.every(Number.isInteger)).toBe(true);
      expect(new Set(ids).size).toBe(ids.length);
      for (const p of panels) {
        expect(["row", "timeseries", "stat", "bargauge", "table", "text"], p.title).toContain(p.type);
        expect(p.title, `panel ${p.id}`).toBeTruthy();
        expect(p.gridPos, p.title).toBeDefined();
        const { x, w, h } = p.gridPos!;
        expect(w, p.title).toBeLessThanOrEqual(24);
        expect(x + w, p.title).toBeLessThanOrEqual(24);
        expect(h, p.title).toBeGreaterThan(0);
      }
    });

    it("queries the datasource variable from every panel and target", () => {
      expect(queryPanels.length).toBeGreaterThan(5);
      for (const p of queryPanels) {
        expect(p.datasource, p.title).toEqual(DS_REF);
        expect(p.targets?.length, p.title).toBeGreaterThan(0);
        const refIds = p.targets!.map((t) => t.refId);
        expect(new Set(refIds).size, p.title).toBe(refIds.length);
        for (const t of p.targets!) {
          expect(t.refId, p.title).toMatch(/^[A-Z]$/);
          expect(t.expr?.trim(), `${p.title} ${t.refId}`).toBeTruthy();
          expect(t.datasource, `${p.title} ${t.refId}`).toEqual(DS_REF);
        }
      }
    });

    it("has the datasource, worker and run variables", () => {
      const vars = Object.fromEntries(d.templating.list.map((v) => [v.name, v]));
      expect(vars.datasource).toMatchObject({ type: "datasource", query: "prometheus" });
      expect(vars.worker).toMatchObject({ type: "query", multi: true, includeAll: true, datasource: DS_REF });
      expect(vars.run).toMatchObject({ type: "query", multi: true, includeAll: true, datasource: DS_REF });
      const sel = Object.fromEntries(variableQueries().filter((q) => q.dashboard === d.uid).map((q) => [q.variable, q]));
      expect(sel.worker).toMatchObject({ selector: 'up{job="facet-worker"}', label: "instance" });
      expect(sel.run).toMatchObject({ selector: "facet_run_info", label: "run_id" });
    });

    it("references only catalogued metrics (or up), filtered by the template variables", () => {
      const known = catalogue();
      const queries = dashboardQueries().filter((q) => q.dashboard === d.uid);
      expect(queries.length).toBe(queryPanels.reduce((n, p) => n + p.targets!.length, 0));
      for (const q of queries) {
        const where = `${q.panel} ${q.refId}: ${q.expr}`;
        expect(balanced(q.expr), where).toBe(true);
        const names = metricNames(q.expr);
        expect(names.length, where).toBeGreaterThan(0);
        for (const n of names) expect(n === "up" || known.has(n), `${n} in ${where}`).toBe(true);
        // Worker-side series follow the worker selection; per-run series the run selection.
        if (/facet_(products_processed|stage_duration|batch_size|inference|retries|model_|jobs_in_progress)/.test(q.expr)) expect(q.expr, where).toContain('instance=~"$worker"');
        if (/facet_(run_products|run_info|products_processed)/.test(q.expr)) expect(q.expr, where).toContain('run_id=~"$run"');
        if (q.expr.includes("rate(")) expect(q.expr, where).toMatch(/rate\([^[]*\[\$__rate_interval\]\)/);
      }
      // Both variables are used somewhere on each dashboard.
      expect(queries.some((q) => q.expr.includes("$worker"))).toBe(true);
      expect(queries.some((q) => q.expr.includes("$run"))).toBe(true);
    });
  });

  it("uses the catalogue's default metrics and sees through grouping clauses", () => {
    expect(catalogue()).toContain("facet_stage_duration_seconds_bucket");
    expect(catalogue()).not.toContain("facet_queue_jobs_bucket");
    expect(metricNames('sum by (le, stage) (rate(facet_x_bucket{a=~"$b"}[5m])) / on(run_id) group_left max(up)')).toEqual(["facet_x_bucket", "up"]);
  });
});

describe("expandTemplate / variableQueries", () => {
  it("replaces interval macros and multi-value variables", () => {
    expect(expandTemplate('rate(x{instance=~"$worker", run_id=~"${run}", a=~"${run:regex}"}[$__rate_interval])')).toBe(
      'rate(x{instance=~".*", run_id=~".*", a=~".*"}[1m])',
    );
    expect(expandTemplate("increase(x[$__range]) + rate(y[${__interval}])", "5m")).toBe("increase(x[5m]) + rate(y[5m])");
  });

  it("leaves no template syntax in any dashboard query", () => {
    for (const q of dashboardQueries()) expect(expandTemplate(q.expr), q.expr).not.toContain("$");
  });

  it("parses label_values with commas in the selector", () => {
    expect(parseLabelValues('label_values(up{job="a", x="b,c"}, instance)')).toEqual({ selector: 'up{job="a", x="b,c"}', label: "instance" });
    expect(parseLabelValues("label_values(run_id)")).toEqual({ selector: "", label: "run_id" });
    expect(loadDashboards().map((d) => d.uid)).toEqual(["facet-fleet", "facet-runs"]);
  });
});

describe("provisioning", () => {
  const PROV = fileURLToPath(new URL("./provisioning/", import.meta.url));
  const hasPython = existsSync("/usr/bin/python3");

  it.skipIf(!hasPython)("the Prometheus datasource is the dashboards' default", () => {
    const ds = yaml(path.join(PROV, "datasources/prometheus.yaml"));
    expect(ds.apiVersion).toBe(1);
    const [prom] = ds.datasources;
    expect(prom).toMatchObject({ type: "prometheus", uid: "facet-prometheus", url: "http://prometheus:9090" });
    for (const d of loadDashboards()) {
      const v = d.templating.list.find((x) => x.name === "datasource");
      expect(v?.current?.value, d.uid).toBe(prom.uid);
    }
  });

  it.skipIf(!hasPython)("the dashboard provider loads a folder into Facet, the folder the README names", () => {
    const prov = yaml(path.join(PROV, "dashboards/facet.yaml"));
    expect(prov.apiVersion).toBe(1);
    const [p] = prov.providers;
    expect(p).toMatchObject({ type: "file", folder: "Facet" });
    expect(p.options.path).toMatch(/^\//);
    expect(readFileSync(new URL("./README.md", import.meta.url), "utf8")).toContain(p.options.path);
  });
});

// Real PromQL checks with the installed promtool (Prometheus 2.42): every expression parses,
// and the derived ratios (progress, ETA, busy share, failed share) compute what they claim.
describe.skipIf(!existsSync(PROMTOOL))(`promtool (${existsSync(PROMTOOL) ? PROMTOOL : "absent: skipped"})`, () => {
  const promtool = (...args: string[]) => spawnSync(PROMTOOL, args, { encoding: "utf8" });

  it("accepts every dashboard and variable query as a recording rule", () => {
    const exprs = [...dashboardQueries().map((q) => q.expr), ...variableQueries().map((q) => q.selector)];
    const rules = exprs.map((expr, i) => ({ record: `facet:dashboard_query:${i}`, expr: expandTemplate(expr, "5m") }));
    const file = path.join(tmp, "rules.yml");
    writeFileSync(file, JSON.stringify({ groups: [{ name: "facet-dashboards", rules }] })); // JSON is YAML
    const r = promtool("check", "rules", file);
    expect(r.status, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toContain(`${rules.length} rules found`);
  });

  it("evaluates the ratio panels to the expected values on synthetic series", () => {
    const expr = (panel: string, refId = "A") => {
      const q = dashboardQueries().find((x) => x.panel === panel && x.refId === refId);
      if (!q) throw new Error(`no query ${panel} ${refId}`);
      return expandTemplate(q.expr, "5m");
    };
    // Two producers report the same ledger (deduplicated by max); 1 sample a minute.
    const run = (state: string, values: string) =>
      ["p1", "p2"].map((p) => ({ series: `facet_run_products{job="facet-producer",instance="${p}",run_id="r1",state="${state}"}`, values }));
    const worker = (w: string, metric: string, labels: string, values: string) => ({ series: `${metric}{job="facet-worker",instance="${w}"${labels}}`, values });
    const input_series = [
      ...run("total", "1000x10"), ...run("pending", "1000-240x4"), // 4 products/s drain
      ...run("done", "0+120x4"), ...run("failed", "0+60x4"), ...run("skipped", "0+60x4"),
      worker("w1", "facet_inference_busy_seconds_total", "", "0+60x10"), worker("w1", "facet_inference_threads", "", "2x10"),
      worker("w2", "facet_inference_busy_seconds_total", "", "0+60x10"), worker("w2", "facet_inference_threads", "", "1x10"),
      worker("w1", "facet_products_processed_total", ',run_id="r1",outcome="done",reason=""', "0+540x10"),
      worker("w1", "facet_products_processed_total", ',run_id="r1",outcome="failed",reason="photo_corrupt"', "0+60x10"),
    ];
    const test = {
      rule_files: [],
      evaluation_interval: "1m",
      tests: [{
        interval: "1m",
        input_series,
        promql_expr_test: [
          // At 4m: finished 480+240+240 of 1000; 40 pending at 4/s.
          { expr: expr("Progress per run"), eval_time: "4m", exp_samples: [{ labels: '{run_id="r1"}', value: 0.96 }] },
          { expr: expr("ETA per run"), eval_time: "4m", exp_samples: [{ labels: '{run_id="r1"}', value: 10 }] },
          { expr: expr("Inference busy share"), eval_time: "10m", exp_samples: [{ labels: '{instance="w1"}', value: 0.5 }, { labels: '{instance="w2"}', value: 1 }] },
          { expr: expr("Inference busy share", "B"), eval_time: "10m", exp_samples: [{ labels: "{}", value: 2 / 3 }] },
          { expr: expr("Error rate (failed share)"), eval_time: "10m", exp_samples: [{ labels: "{}", value: 0.1 }] },
        ],
      }],
    };
    const file = path.join(tmp, "test.yml");
    writeFileSync(file, JSON.stringify(test));
    const r = promtool("test", "rules", file);
    expect(r.status, r.stdout + r.stderr).toBe(0);
  });
});
