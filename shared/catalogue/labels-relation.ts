import type { Knex } from "knex";
import { ConfigError } from "../errors/index.js";

/**
 * Reading training data from the marketplace: its labels relation (a view it defines: `product_id`
 * plus one text column per attribute, null where it does not say) joined to the catalogue relation
 * (CATALOGUE_RELATION: photo keys and the artisan's text). Facet only reads both.
 */
export interface LabelsSource {
  db: Knex;
  /** CATALOGUE_RELATION, `[schema.]name`. */
  catalogue: string;
  /** LABELS_RELATION, `[schema.]name`. */
  labels: string;
}

export interface LabelledProduct {
  productId: string;
  photoKeys: string[];
  /** The catalogue's description (what the artisan wrote, unless Facet has applied its own since). */
  description: string | null;
  /** Label columns as the relation holds them (before mapping). */
  labels: Record<string, string | null>;
}

const TEXT_TYPES = new Set(["text", "character varying", "character", "USER-DEFINED"]);

function splitName(relation: string): { schema: string; name: string } {
  const [a, b] = relation.split(".");
  return b === undefined ? { schema: "public", name: a as string } : { schema: a as string, name: b };
}

/**
 * The relation's label columns, checked: it must exist, have a text `product_id`, and every other
 * column must be a text column naming one of `attributes`. Anything else is refused in one line.
 */
export async function labelColumns(source: LabelsSource, attributes: readonly string[]): Promise<string[]> {
  const { schema, name } = splitName(source.labels);
  const rows: Array<{ column_name: string; data_type: string }> = await source.db
    .select("column_name", "data_type")
    .from("information_schema.columns")
    .where({ table_schema: schema, table_name: name })
    .orderBy("ordinal_position");
  if (rows.length === 0) throw new ConfigError(`labels relation ${source.labels}: not found (LABELS_RELATION, --labels-relation)`);
  const id = rows.find((r) => r.column_name === "product_id");
  if (!id) throw new ConfigError(`labels relation ${source.labels}: has no product_id column`);
  const columns = rows.filter((r) => r.column_name !== "product_id");
  for (const c of [id, ...columns]) {
    if (!TEXT_TYPES.has(c.data_type)) {
      throw new ConfigError(`labels relation ${source.labels}: column ${c.column_name} is ${c.data_type}; label columns must be text`);
    }
  }
  const unknown = columns.filter((c) => !attributes.includes(c.column_name));
  if (unknown.length > 0) {
    throw new ConfigError(
      `labels relation ${source.labels}: column ${unknown.map((c) => c.column_name).join(", ")} is not an attribute of the labels map (${attributes.join(", ")})`,
    );
  }
  if (columns.length === 0) throw new ConfigError(`labels relation ${source.labels}: has no label columns (one per attribute: ${attributes.join(", ")})`);
  return columns.map((c) => c.column_name);
}

/** Every distinct value of each label column, for checking them against the map before any photo is read. */
export async function distinctLabelValues(source: LabelsSource, columns: readonly string[]): Promise<Record<string, string[]>> {
  const out: Record<string, string[]> = {};
  for (const column of columns) {
    const rows: Array<{ value: string }> = await source.db.from(source.labels).distinct({ value: column }).whereNotNull(column);
    out[column] = rows.map((r) => r.value);
  }
  return out;
}

/** Labelled products in the catalogue, `pageSize` at a time in product id order (keyset pages). */
export async function* readLabelledProducts(source: LabelsSource, columns: readonly string[], pageSize = 500): AsyncIterable<LabelledProduct> {
  let after: string | null = null;
  for (;;) {
    const q = source.db
      .from({ l: source.labels })
      .join({ c: source.catalogue }, "c.product_id", "l.product_id")
      .select("l.product_id", "c.photo_keys", "c.description", ...columns.map((c) => `l.${c}`))
      .orderBy("l.product_id")
      .limit(pageSize);
    if (after !== null) q.where("l.product_id", ">", after);
    const rows: Array<Record<string, unknown>> = await q;
    for (const row of rows) {
      yield {
        productId: String(row.product_id),
        photoKeys: Array.isArray(row.photo_keys) ? row.photo_keys.map(String) : [],
        description: typeof row.description === "string" ? row.description : null,
        labels: Object.fromEntries(columns.map((c) => [c, typeof row[c] === "string" ? (row[c] as string) : null])),
      };
    }
    if (rows.length < pageSize) return;
    after = String(rows.at(-1)?.product_id);
  }
}

/** How many labelled products the catalogue holds (the progress bar's total). */
export async function countLabelledProducts(source: LabelsSource): Promise<number> {
  const [row] = await source.db.from({ l: source.labels }).join({ c: source.catalogue }, "c.product_id", "l.product_id").count({ n: "*" });
  return Number(row?.n ?? 0);
}
