import { readFile } from "node:fs/promises";
import path from "node:path";
import { parse } from "csv-parse/sync";
import type { SourceProduct } from "./dataset-writer.js";

/** Which CSV column feeds which attribute head. */
export const CSV_ATTRIBUTE_COLUMNS = { category: "category", metal: "material", gemstone: "gemstone" } as const;

export interface CsvCatalogue {
  attributes: Array<{ name: string; labels: string[] }>;
  products: AsyncIterable<SourceProduct>;
}

/**
 * Read a labelled photo catalogue: a CSV with a `file` column (photo path relative to the
 * CSV's folder) and `category`, `material`, `gemstone` columns (empty = unknown), such as
 * ../shared/datasets/jewellery-photos/labels.csv. Each row is one single-photo product.
 * Label sets are the values the CSV uses (all rows, also with a limit). Photos are read
 * lazily, one product at a time; a missing photo file becomes an empty photo, which the
 * dataset writer skips with reason photo_empty.
 */
export async function readCsvCatalogue(csvPath: string, options: { limit?: number } = {}): Promise<CsvCatalogue> {
  const all = parse(await readFile(csvPath), { columns: true, skip_empty_lines: true, trim: true }) as Record<string, string>[];
  // A limit takes evenly spaced rows, so a small sample still spans every folder and label.
  const limit = Math.min(options.limit ?? all.length, all.length);
  const rows = Array.from({ length: limit }, (_, i) => all[Math.floor((i * all.length) / limit)] as Record<string, string>);
  const first = rows[0];
  if (!first) throw new Error(`${csvPath}: no rows`);
  for (const column of ["file", ...Object.values(CSV_ATTRIBUTE_COLUMNS)]) {
    if (!(column in first)) throw new Error(`${csvPath}: missing column '${column}'`);
  }
  const attributes = Object.entries(CSV_ATTRIBUTE_COLUMNS).map(([name, column]) => ({
    name,
    labels: [...new Set(all.map((r) => r[column] ?? "").filter((v) => v !== ""))].sort(),
  }));
  const root = path.dirname(csvPath);
  async function* products(): AsyncIterable<SourceProduct> {
    for (const [i, row] of rows.entries()) {
      const file = row.file as string;
      const photo = await readFile(path.join(root, file)).catch(() => new Uint8Array(0));
      yield {
        id: `csv-${String(i).padStart(6, "0")}`,
        photos: [photo],
        attributes: Object.fromEntries(
          Object.entries(CSV_ATTRIBUTE_COLUMNS).map(([name, column]) => [name, row[column] ? (row[column] as string) : null]),
        ),
        reference: null,
        artisan: row.caption_es || null,
      };
    }
  }
  return { attributes, products: products() };
}
