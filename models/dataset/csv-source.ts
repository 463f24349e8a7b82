import { readFile } from "node:fs/promises";
import path from "node:path";
import { parse } from "csv-parse/sync";
import { ConfigError } from "../../shared/errors/index.js";
import type { SourceProduct } from "./dataset-writer.js";
import type { LabelsMap } from "./labels-map.js";
import { labelSets, normaliseRows, type DatasetAttributes } from "./label-sets.js";

/** CSV headers that name an attribute by another word. */
const COLUMN_ALIASES: Record<string, string> = { material: "metal" };
/** Columns holding what the seller wrote (kept as the artisan's text). */
const TEXT_COLUMN = /^(caption(_[a-z]+)?|description|title)$/;

export interface CsvCatalogue extends DatasetAttributes {
  products: AsyncIterable<SourceProduct>;
  /** What the CSV is, for the dataset's `source` (and a model card's data sources). */
  description: Record<string, unknown>;
}

/**
 * Read a labelled photo catalogue: a CSV with a `file` column (photo path relative to the CSV's
 * folder), one column per attribute named as in the labels map (`material` also means metal; an
 * empty cell: the source does not say), optional caption/description/title columns (the artisan's
 * text) and an optional `source` column (where each photo comes from and its licence), such as
 * ../shared/datasets/jewellery-photos/labels.csv. Each row is one single-photo product.
 *
 * Every value is mapped to the label set before any photo is read; a value the map does not know
 * is refused with one line naming it. Photos are read lazily, one product at a time; a missing photo
 * file becomes an empty photo, which the dataset writer skips with reason photo_empty.
 */
export async function readCsvCatalogue(csvPath: string, map: LabelsMap, options: { limit?: number } = {}): Promise<CsvCatalogue> {
  let all: Record<string, string>[];
  try {
    all = parse(await readFile(csvPath), { columns: true, skip_empty_lines: true, trim: true }) as Record<string, string>[];
  } catch (cause) {
    throw new ConfigError(`${csvPath}: ${(cause as Error).message.split("\n")[0]}`, { cause });
  }
  const first = all[0];
  if (!first) throw new ConfigError(`${csvPath}: no rows`);
  if (!("file" in first)) throw new ConfigError(`${csvPath}: missing column 'file' (the photo's path)`);
  const columns = Object.keys(first);
  const attributeColumns = columns.filter((c) => map.attributes.includes(COLUMN_ALIASES[c] ?? c));
  if (attributeColumns.length === 0) {
    throw new ConfigError(`${csvPath}: no column names an attribute of labels map ${map.file} (${map.attributes.join(", ")})`);
  }
  const textColumns = columns.filter((c) => TEXT_COLUMN.test(c));

  // A limit takes evenly spaced rows, so a small sample still spans every folder and label.
  const limit = Math.min(options.limit ?? all.length, all.length);
  const rows = Array.from({ length: limit }, (_, i) => all[Math.floor((i * all.length) / limit)] as Record<string, string>);
  const byAttribute = Object.fromEntries(attributeColumns.map((c) => [COLUMN_ALIASES[c] ?? c, c]));
  const labelled = normaliseRows(
    map,
    rows.map((row) => Object.fromEntries(Object.entries(byAttribute).map(([attribute, column]) => [attribute, row[column] ?? null]))),
    (i) => `${path.basename(csvPath)} row ${i + 2}`,
  );
  const sets = labelSets(map, labelled, Object.keys(byAttribute));

  const licences: Record<string, number> = {};
  if (columns.includes("source")) for (const row of rows) licences[row.source || "(not stated)"] = (licences[row.source || "(not stated)"] ?? 0) + 1;

  const root = path.dirname(csvPath);
  async function* products(): AsyncIterable<SourceProduct> {
    for (const [i, row] of rows.entries()) {
      const photo = await readFile(path.join(root, row.file as string)).catch(() => new Uint8Array(0));
      const text = textColumns.map((c) => row[c]).filter(Boolean).join(" · ");
      yield { id: `csv-${String(i).padStart(6, "0")}`, photos: [photo], attributes: sets.restrict(labelled[i] as Record<string, string | null>), artisan: text || null };
    }
  }
  return {
    attributes: sets.attributes,
    dropped: sets.dropped,
    products: products(),
    description: {
      kind: "csv",
      file: path.basename(csvPath),
      rows: rows.length,
      labels_map: path.basename(map.file),
      columns: byAttribute,
      ...(Object.keys(licences).length ? { sources: licences } : {}),
      ...(Object.keys(sets.dropped).length ? { dropped_attributes: sets.dropped } : {}),
    },
  };
}
