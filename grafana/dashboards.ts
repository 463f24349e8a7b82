// Facet's Grafana dashboards as data: load the JSON models, list their PromQL, and turn a
// templated query into one Prometheus can evaluate directly (for tests against a real server).
import { readFileSync, readdirSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

export const DASHBOARD_DIR = fileURLToPath(new URL("./dashboards/", import.meta.url));

export interface DataSourceRef { type?: string; uid?: string }
export interface Target { refId?: string; expr?: string; datasource?: DataSourceRef; legendFormat?: string }
export interface Panel {
  id: number;
  type: string;
  title: string;
  datasource?: DataSourceRef;
  gridPos?: { x: number; y: number; w: number; h: number };
  targets?: Target[];
  /** Collapsed rows keep their panels here. */
  panels?: Panel[];
}
export interface Variable {
  name: string;
  type: string;
  /** Query variables: a string, or Grafana 10's `{ query, refId }`; datasource variables: the plugin id. */
  query?: string | { query?: string };
  current?: { text?: unknown; value?: unknown };
  multi?: boolean;
  includeAll?: boolean;
}
export interface Dashboard {
  uid: string;
  title: string;
  schemaVersion: number;
  panels: Panel[];
  templating: { list: Variable[] };
  [key: string]: unknown;
}

/** The dashboard files (`<uid>.json`), sorted. */
export function dashboardFiles(): string[] {
  return readdirSync(DASHBOARD_DIR).filter((f) => f.endsWith(".json")).sort();
}

export function loadDashboards(): Dashboard[] {
  return dashboardFiles().map((f) => JSON.parse(readFileSync(path.join(DASHBOARD_DIR, f), "utf8")) as Dashboard);
}

/** Every panel, rows' nested panels included, depth first. */
export function allPanels(panels: Panel[]): Panel[] {
  return panels.flatMap((p) => [p, ...allPanels(p.panels ?? [])]);
}

/** Every target expression of every panel of every dashboard (`dashboard` is the uid). */
export function dashboardQueries(): Array<{ dashboard: string; panel: string; refId: string; expr: string }> {
  return loadDashboards().flatMap((d) =>
    allPanels(d.panels).flatMap((p) =>
      (p.targets ?? []).filter((t) => t.expr).map((t) => ({ dashboard: d.uid, panel: p.title, refId: t.refId ?? "", expr: t.expr! })),
    ),
  );
}

/**
 * Make a templated query evaluable by Prometheus: Grafana's interval/range macros become
 * `window`, and a variable inside a regex matcher (`=~"$run"`, `=~"${run}"`, `=~"${run:regex}"`)
 * becomes `.*`, i.e. "All".
 */
export function expandTemplate(expr: string, window = "1m"): string {
  return expr
    // `(?![\w])` keeps `$__range_s` / `$__interval_ms` (numbers, not durations) out; Facet uses neither.
    .replace(/\$\{?__(?:rate_interval|interval|range)\}?(?!\w)/g, window)
    .replace(/=~\s*"((?:[^"\\]|\\.)*)"/g, (_m, value: string) => `=~"${value.replace(/\$\{\w+(?::\w+)?\}|\$\w+/g, ".*")}"`);
}

/** The selector and label of `label_values(selector, label)` (or `label_values(label)`: selector ""). */
export function parseLabelValues(query: string): { selector: string; label: string } | undefined {
  const m = /^\s*label_values\(([\s\S]*)\)\s*$/.exec(query);
  if (!m) return undefined;
  const args = m[1]!;
  // The selector may hold commas (`up{a="x", b="y"}`): split at the last comma outside braces and quotes.
  let depth = 0, quoted = false, split = -1;
  for (let i = 0; i < args.length; i++) {
    const c = args[i];
    if (quoted) { if (c === "\\") i++; else if (c === '"') quoted = false; continue; }
    if (c === '"') quoted = true;
    else if (c === "{" || c === "(") depth++;
    else if (c === "}" || c === ")") depth--;
    else if (c === "," && depth === 0) split = i;
  }
  return split < 0 ? { selector: "", label: args.trim() } : { selector: args.slice(0, split).trim(), label: args.slice(split + 1).trim() };
}

/** The `label_values(...)` template variables: their metric selector (e.g. `up{job="facet-worker"}`) and label. */
export function variableQueries(): Array<{ dashboard: string; variable: string; query: string; selector: string; label: string }> {
  return loadDashboards().flatMap((d) =>
    d.templating.list.flatMap((v) => {
      if (v.type !== "query") return [];
      const query = typeof v.query === "string" ? v.query : (v.query?.query ?? "");
      const parsed = parseLabelValues(query);
      return parsed ? [{ dashboard: d.uid, variable: v.name, query, ...parsed }] : [];
    }),
  );
}
