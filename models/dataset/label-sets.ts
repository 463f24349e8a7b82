import { ConfigError } from "../../shared/errors/index.js";
import type { LabelsMap } from "./labels-map.js";

/** A dataset's attribute heads, as a source's labels make them. */
export interface DatasetAttributes {
  attributes: Array<{ name: string; labels: string[] }>;
  /** Attributes of the source with fewer than two labels in use, and why they have no head. */
  dropped: Record<string, string>;
}

/**
 * Every row's values mapped to labels (null: the source does not say), before any photo is read.
 * Values the map does not know are refused in one line naming them, how often and where first.
 */
export function normaliseRows(map: LabelsMap, rows: ReadonlyArray<Record<string, string | null>>, where: (row: number) => string): Array<Record<string, string | null>> {
  const unknown = new Map<string, { count: number; first: number }>();
  const out = rows.map((row, i) =>
    Object.fromEntries(
      Object.entries(row).map(([attribute, value]) => {
        const label = map.normalise(attribute, value);
        if (label === undefined) {
          const key = `${attribute} ${JSON.stringify(value)}`;
          const seen = unknown.get(key);
          unknown.set(key, { count: (seen?.count ?? 0) + 1, first: seen?.first ?? i });
          return [attribute, null];
        }
        return [attribute, label];
      }),
    ),
  );
  if (unknown.size > 0) {
    const listed = [...unknown.entries()].slice(0, 3).map(([key, { count, first }]) => `${key} (${count}×, first at ${where(first)})`);
    throw new ConfigError(
      `labels map ${map.file}: ${unknown.size} value(s) are neither labels nor mapped words: ${listed.join("; ")}${unknown.size > 3 ? "; …" : ""} ` +
        "(add them to the map's 'map', or map them to null)",
    );
  }
  return out;
}

/** The labels each attribute uses (in the map's order); an attribute with fewer than two gets no head. */
export function labelSets(map: LabelsMap, rows: ReadonlyArray<Record<string, string | null>>, attributes: readonly string[]): DatasetAttributes & {
  restrict(row: Record<string, string | null>): Record<string, string | null>;
} {
  const kept: Array<{ name: string; labels: string[] }> = [];
  const dropped: Record<string, string> = {};
  for (const name of map.attributes.filter((a) => attributes.includes(a))) {
    const used = new Set(rows.map((r) => r[name]).filter((v): v is string => typeof v === "string"));
    const labels = map.labels(name).filter((l) => used.has(l));
    if (labels.length >= 2) kept.push({ name, labels });
    else dropped[name] = labels.length === 0 ? "no product states it" : `every product that states it says ${JSON.stringify(labels[0])}`;
  }
  const names = new Set(kept.map((a) => a.name));
  return {
    attributes: kept,
    dropped,
    restrict: (row) => Object.fromEntries(Object.entries(row).filter(([name]) => names.has(name))),
  };
}
