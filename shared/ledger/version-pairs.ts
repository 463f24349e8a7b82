import type { LedgerContext } from "./run-ledger.js";

/** One product's result in a run, next to what it is compared with. */
export interface VersionPair {
  productId: string;
  attributes: Record<string, { label: string; confidence: number }>;
  description: string;
  /** The other run's result, or the description Facet applied (current_descriptions); null when neither exists. */
  other: { attributes: Record<string, { label: string; confidence: number }>; description: string } | null;
  /** With no Facet result to compare with: the catalogue's own text (the artisan's) and category field. */
  catalogue: { description: string | null; category: string | null } | null;
}

interface Row {
  product_id: string;
  attributes: VersionPair["attributes"];
  description: string;
  other_attributes: VersionPair["attributes"] | null;
  other_description: string | null;
  catalogue_description: string | null;
  catalogue_category: string | null;
  present: boolean;
}

/**
 * `runA`'s versions paired with `runB`'s for the same products (runB given), or with what each
 * product has now (runB null): the version Facet applied, else the catalogue's own text. Read in
 * product-id pages of `pageSize`.
 */
export async function* versionPairs(ctx: LedgerContext, runA: string, runB: string | null, pageSize = 1000): AsyncIterable<VersionPair> {
  let after = "";
  for (;;) {
    const { rows } = (await ctx.db.raw(
      runB !== null
        ? `select a.product_id, a.attributes, a.description, b.attributes as other_attributes, b.description as other_description,
                  null::text as catalogue_description, null::text as catalogue_category, b.product_id is not null as present
             from ??.description_versions a
             left join ??.description_versions b on b.product_id = a.product_id and b.run_id = ?
            where a.run_id = ? and a.product_id > ?
            order by a.product_id limit ?`
        : `select a.product_id, a.attributes, a.description, cv.attributes as other_attributes, cv.description as other_description,
                  c.description as catalogue_description, c.category as catalogue_category, c.product_id is not null as present
             from ??.description_versions a
             left join ??.current_descriptions cd on cd.product_id = a.product_id
             left join ??.description_versions cv on cv.id = cd.version_id
             left join ?? c on c.product_id = a.product_id
            where a.run_id = ? and a.product_id > ?
            order by a.product_id limit ?`,
      runB !== null ? [ctx.schema, ctx.schema, runB, runA, after, pageSize] : [ctx.schema, ctx.schema, ctx.schema, ctx.catalogue, runA, after, pageSize],
    )) as { rows: Row[] };
    for (const r of rows) {
      yield {
        productId: r.product_id,
        attributes: r.attributes,
        description: r.description,
        other: r.other_attributes && r.other_description !== null ? { attributes: r.other_attributes, description: r.other_description } : null,
        catalogue: r.other_attributes === null && r.present ? { description: r.catalogue_description, category: r.catalogue_category } : null,
      };
    }
    if (rows.length < pageSize) return;
    after = (rows.at(-1) as Row).product_id;
  }
}
