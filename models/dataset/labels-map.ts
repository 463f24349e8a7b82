import { repoPath } from "../../shared/repo-root.js";
import { z } from "zod";
import { readJsonFile } from "../../shared/config/json-file.js";
import { ConfigError } from "../../shared/errors/index.js";

/**
 * A labels mapping file (`facet-labels-map/1`, models/FORMAT.md): per attribute, the label set a
 * dataset uses and which words of a source mean which label, in any of the catalogue's languages
 * ("gold", "oro" and "yellow gold" → `yellow gold`; "925 silver" and "plata" → `sterling silver`).
 * A word mapped to null means the source does not say (the attribute is unknown there).
 */
export const LABELS_MAP_FORMAT = "facet-labels-map/1";

/** The map `facet dataset export` uses unless given `--labels-map FILE`: the house vocabulary. */
export const DEFAULT_LABELS_MAP = repoPath("models/dataset/labels-map.default.json");

const labelsMapSchema = z
  .object({
    format: z.literal(LABELS_MAP_FORMAT),
    description: z.string().optional(),
    attributes: z.record(
      z.string().regex(/^[a-z_]+$/, "attribute names are lower-case letters and '_'"),
      z
        .object({
          labels: z.array(z.string().min(1)).min(2, "needs at least two labels"),
          map: z.record(z.string(), z.string().nullable()).default({}),
        })
        .strict(),
    ),
  })
  .strict();

/** A parsed map, ready to normalise source values. */
export interface LabelsMap {
  file: string;
  /** Attribute names in the file's order. */
  attributes: string[];
  labels(attribute: string): readonly string[];
  /**
   * The label `value` means for `attribute`: a label, null when the source does not say (empty,
   * or mapped to null), or undefined when the map does not know the value.
   */
  normalise(attribute: string, value: string | null | undefined): string | null | undefined;
}

/** Lower-case, accents and repeated spaces removed: "Oro  Blanco" and "oro blanco" are one word. */
export function foldWord(text: string): string {
  return text.normalize("NFD").replace(/\p{M}/gu, "").toLowerCase().replace(/\s+/g, " ").trim();
}

export async function readLabelsMap(file: string = DEFAULT_LABELS_MAP): Promise<LabelsMap> {
  return buildLabelsMap(file, (await readJsonFile(file, labelsMapSchema, "labels map")).attributes);
}

function buildLabelsMap(file: string, spec: Record<string, { labels: string[]; map: Record<string, string | null> }>): LabelsMap {
  const lookups = new Map<string, Map<string, string | null>>();
  for (const [attribute, { labels, map }] of Object.entries(spec)) {
    const lookup = new Map<string, string | null>(labels.map((l) => [foldWord(l), l]));
    if (lookup.size !== labels.length) throw new ConfigError(`labels map ${file}: attributes.${attribute}.labels: two labels fold to the same word`);
    for (const [word, label] of Object.entries(map)) {
      if (label !== null && !labels.includes(label)) {
        throw new ConfigError(`labels map ${file}: attributes.${attribute}.map.${word}: "${label}" is not one of its labels (${labels.join(", ")})`);
      }
      lookup.set(foldWord(word), label);
    }
    lookups.set(attribute, lookup);
  }
  return {
    file,
    attributes: Object.keys(spec),
    labels: (attribute) => spec[attribute]?.labels ?? [],
    normalise(attribute, value) {
      if (value === null || value === undefined || foldWord(value) === "") return null;
      return lookups.get(attribute)?.get(foldWord(value));
    },
  };
}
