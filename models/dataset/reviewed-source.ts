import type { LedgerContext } from "../../shared/ledger/run-ledger.js";
import { reviewedExamples } from "../../shared/ledger/review-decisions.js";
import type { ObjectStore } from "../../shared/storage/object-store.js";
import { fetchPhotos, type CatalogueDataset } from "./catalogue-source.js";
import type { LabelsMap } from "./labels-map.js";
import { labelSets, normaliseRows } from "./label-sets.js";

/**
 * Training data from the catalogue team's reviews (the feedback loop): every product whose latest
 * review approved a text, with its photos from IMAGE_STORE. A corrected attribute is a label (the
 * version's other labels count too: the reviewer saw each and let it stand); the approved or
 * edited text is the product's reference, used instead of the house-style one. Labels go through
 * the labels map like the catalogue's; a photo that can't be fetched leaves its product out,
 * counted by reason.
 */
export async function readReviewedDataset(ledger: LedgerContext, images: ObjectStore, map: LabelsMap, options: { fetchTimeoutMs?: number } = {}): Promise<CatalogueDataset> {
  const examples = await reviewedExamples(ledger);
  const known = (labels: Record<string, string>) => Object.fromEntries(map.attributes.map((a) => [a, labels[a] ?? null]));
  const normalised = normaliseRows(map, examples.map((e) => known(e.labels)), (i) => `the review of product ${examples[i]?.productId}`);
  const sets = labelSets(map, normalised, map.attributes);

  async function* products() {
    for (const [i, e] of examples.entries()) {
      const photos = await fetchPhotos(images, e.photoKeys, options.fetchTimeoutMs ?? 10_000);
      yield {
        id: e.productId,
        photos: photos.ok ? photos.bytes : [],
        attributes: sets.restrict(normalised[i] ?? {}),
        artisan: e.artisanText,
        reference: e.text,
        ...(photos.ok ? {} : { skipReason: photos.reason }),
      };
    }
  }
  return {
    attributes: sets.attributes,
    dropped: sets.dropped,
    total: examples.length,
    products: products(),
    description: {
      kind: "catalogue_reviewed",
      catalogue: ledger.catalogue,
      ledger: ledger.schema,
      labels_map: map.file,
      images: images.url,
      products: examples.length,
      edited: examples.filter((e) => e.decision === "edit").length,
      corrected_labels: examples.reduce((n, e) => n + e.corrected.length, 0),
      ...(Object.keys(sets.dropped).length ? { dropped_attributes: sets.dropped } : {}),
    },
  };
}
