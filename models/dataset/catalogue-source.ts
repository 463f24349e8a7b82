import { FacetError, failureReason } from "../../shared/errors/index.js";
import { retryTransient } from "../../shared/errors/retry-transient.js";
import { countLabelledProducts, distinctLabelValues, labelColumns, readLabelledProducts, type LabelsSource } from "../../shared/catalogue/labels-relation.js";
import type { ObjectStore } from "../../shared/storage/object-store.js";
import type { SourceProduct } from "./dataset-writer.js";
import type { LabelsMap } from "./labels-map.js";
import { labelSets, normaliseRows, type DatasetAttributes } from "./label-sets.js";

export interface CatalogueDataset extends DatasetAttributes {
  /** Labelled products in the catalogue (the progress bar's total). */
  total: number;
  products: AsyncIterable<SourceProduct>;
  description: Record<string, unknown>;
}

/** Attempts of one photo GET that fails transiently before the product is skipped with that reason. */
const FETCH_ATTEMPTS = 4;

/**
 * Training data from the marketplace itself: products of its labels relation that are in the
 * catalogue, their photos from IMAGE_STORE, their labels mapped to the label set. The relation's
 * columns and every distinct value are checked against the map before any photo is read. A photo
 * that can't be fetched (missing, or failing after retries) leaves its product out, counted by
 * reason; it is never fatal.
 */
export async function readCatalogueDataset(source: LabelsSource, images: ObjectStore, map: LabelsMap, options: { fetchTimeoutMs?: number } = {}): Promise<CatalogueDataset> {
  const columns = await labelColumns(source, map.attributes);
  const distinct = await distinctLabelValues(source, columns);
  // Checking the distinct values checks every row, in one query per column.
  const values = Object.entries(distinct).flatMap(([attribute, vs]) => vs.map((v) => ({ [attribute]: v })));
  const normalised = normaliseRows(map, values, (i) => `${source.labels}.${Object.keys(values[i] ?? {})[0]}`);
  const sets = labelSets(map, normalised, columns);
  const total = await countLabelledProducts(source);

  async function* products(): AsyncIterable<SourceProduct> {
    for await (const p of readLabelledProducts(source, columns)) {
      const labels = sets.restrict(Object.fromEntries(Object.entries(p.labels).map(([a, v]) => [a, map.normalise(a, v) ?? null])));
      const photos = await fetchPhotos(images, p.photoKeys, options.fetchTimeoutMs ?? 10_000);
      yield { id: p.productId, photos: photos.ok ? photos.bytes : [], attributes: labels, artisan: p.description, ...(photos.ok ? {} : { skipReason: photos.reason }) };
    }
  }
  return {
    attributes: sets.attributes,
    dropped: sets.dropped,
    total,
    products: products(),
    description: {
      kind: "catalogue",
      catalogue: source.catalogue,
      labels: source.labels,
      labels_map: map.file,
      images: images.url,
      products: total,
      ...(Object.keys(sets.dropped).length ? { dropped_attributes: sets.dropped } : {}),
    },
  };
}

/** A product's photos (all of them, or the reason the product is left out). */
export async function fetchPhotos(images: ObjectStore, keys: readonly string[], timeoutMs: number): Promise<{ ok: true; bytes: Uint8Array[] } | { ok: false; reason: string }> {
  if (keys.length === 0) return { ok: false, reason: "photo_none" };
  try {
    const bytes = await Promise.all(keys.map((key) => retryTransient(() => images.get(key, { signal: AbortSignal.timeout(timeoutMs) }), { attempts: FETCH_ATTEMPTS })));
    return { ok: true, bytes };
  } catch (error) {
    // A photo error (permanent, or transient with its retries spent) fails this product; anything else is a bug.
    if (!(error instanceof FacetError)) throw error;
    return { ok: false, reason: failureReason(error) };
  }
}
