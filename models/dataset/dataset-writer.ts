import { createHash, type Hash } from "node:crypto";
import { createWriteStream, type WriteStream } from "node:fs";
import { mkdir, rm, writeFile } from "node:fs/promises";
import path from "node:path";
import { once } from "node:events";
import { PermanentError } from "../../shared/errors/index.js";
import { houseStyleSegments, joinSegments, type HouseStyleSegment } from "../catalogue/house-style.js";
import type { AttributeName } from "../catalogue/attributes.js";
import { preprocessPhoto } from "../runtime/preprocess.js";
import { DEFAULT_SPLIT_SHARES, splitOf, type Split, type SplitShares } from "./dataset-split.js";
import { duplicateGroups } from "./duplicate-groups.js";
import { fingerprint, type PhotoFingerprint } from "./photo-fingerprint.js";

export const DATASET_FORMAT = "facet-dataset/1";
/** Side of the preprocessed copy photos are fingerprinted at (whatever the dataset's image size). */
const FINGERPRINT_SIZE = 64;

/** One product as a dataset source yields it: encoded photos plus what is known of it. */
export interface SourceProduct {
  id: string;
  photos: readonly Uint8Array[];
  /** Label per attribute (already in the dataset's label set); `null` where the source does not say. */
  attributes: Record<string, string | null>;
  /** What the catalogue says today (the artisan's text), kept beside the house-style reference. */
  artisan: string | null;
  /**
   * A person's text for the product (an approved or edited description in review): the
   * reference instead of the house-style one built from the labels (without segments).
   */
  reference?: string;
  /** Set when the source could not fetch the product's photos: it is left out, counted under this reason. */
  skipReason?: string;
}

export interface DatasetWriterOptions {
  out: string;
  /** Model input side, pixels. Default 128. */
  imageSize?: number;
  /** Padding and alpha background. Default white. */
  background?: [number, number, number];
  attributes: ReadonlyArray<{ name: string; labels: readonly string[] }>;
  /** How the data was made (generator and seed, or the catalogue and labels relation): copied into bundles. */
  source: Record<string, unknown>;
  /** Shares of the validation and test splits (default 15% each), or one split for every product (a hold-out set). */
  split?: SplitShares | Split;
  /** Products preprocessed at once. Default 8. */
  concurrency?: number;
  /** Called after each product is read (for a progress bar). */
  onProgress?: (progress: { written: number; skipped: number }) => void;
}

export interface DatasetSummary {
  products: number;
  images: number;
  /** Products left out because a photo could not be used, by reason code. */
  skipped: Record<string, number>;
  labelCounts: Record<string, Record<string, number>>;
  /** Products sharing a duplicate group with another, and the number of groups. */
  duplicates: { products: number; groups: number };
  /** Per attribute: products whose label was dropped (made unknown) because the very same photo carries another label elsewhere. */
  labelConflicts: Record<string, number>;
  splits: Record<Split, number>;
  /** sha256 over images.u8 and items.jsonl: what a bundle's lineage records. */
  hash: string;
}

interface WrittenProduct {
  source: SourceProduct;
  images: number[];
  fingerprints: PhotoFingerprint[];
}

/**
 * Write a facet-dataset/1 folder (models/FORMAT.md) from a stream of products. Photos go through
 * the runtime's own preprocessing, so training sees exactly what serving sees. A product with an
 * unusable photo is left out and counted by reason; the export goes on. Then the data is cleaned:
 * duplicate photos are grouped (never straddling splits), a label the very same photo contradicts
 * elsewhere becomes unknown, each product gets its house-style reference from its labels, and
 * each duplicate group its split.
 */
export async function writeDataset(options: DatasetWriterOptions, products: AsyncIterable<SourceProduct>): Promise<DatasetSummary> {
  const imageSize = options.imageSize ?? 128;
  const background = options.background ?? [255, 255, 255];
  const concurrency = options.concurrency ?? 8;
  const labels = new Map(options.attributes.map((a) => [a.name, new Set(a.labels)]));
  await rm(options.out, { recursive: true, force: true });
  await mkdir(options.out, { recursive: true });
  const digest = createHash("sha256");
  const images = createWriteStream(path.join(options.out, "images.u8"));
  const written: WrittenProduct[] = [];
  const skipped: Record<string, number> = {};
  let imageCount = 0;

  const prepare = async (product: SourceProduct) => {
    for (const [name, label] of Object.entries(product.attributes)) {
      if (label !== null && !labels.get(name)?.has(label)) {
        throw new Error(`product ${product.id}: attribute ${name} = ${JSON.stringify(label)} is not one of the dataset's labels`);
      }
    }
    if (product.skipReason !== undefined) return { product, skip: product.skipReason, pixels: undefined, fingerprints: undefined };
    try {
      const pixels = await Promise.all(product.photos.map(async (p) => (await preprocessPhoto(p, { imageSize, background })).pixels));
      // Fingerprints from one fixed size, so a dataset exported at 128 px groups (and splits) its
      // products exactly as one exported at 224 px: a model is evaluated on the same test photos.
      const fingerprints = await Promise.all(
        product.photos.map(async (p) => fingerprint(p, (await preprocessPhoto(p, { imageSize: FINGERPRINT_SIZE, background })).pixels, FINGERPRINT_SIZE, background)),
      );
      return { product, pixels, fingerprints, skip: undefined };
    } catch (error) {
      if (error instanceof PermanentError) return { product, skip: error.code, pixels: undefined, fingerprints: undefined };
      throw error;
    }
  };

  // Keep `concurrency` products in preprocessing while writing strictly in source order.
  const window: ReturnType<typeof prepare>[] = [];
  const drain = async () => {
    const done = await (window.shift() as ReturnType<typeof prepare>);
    if (done.skip !== undefined) {
      skipped[done.skip] = (skipped[done.skip] ?? 0) + 1;
    } else {
      const indices = done.pixels.map((_, i) => imageCount + i);
      for (const p of done.pixels) await write(images, p, digest);
      imageCount += done.pixels.length;
      written.push({ source: { ...done.product, photos: [] }, images: indices, fingerprints: done.fingerprints });
    }
    options.onProgress?.({ written: written.length, skipped: Object.values(skipped).reduce((a, b) => a + b, 0) });
  };
  for await (const product of products) {
    window.push(prepare(product));
    if (window.length >= concurrency) await drain();
  }
  while (window.length > 0) await drain();
  await close(images);

  const groups = duplicateGroups(written.map((w) => ({ id: w.source.id, photos: w.fingerprints })));
  const { attributes: cleaned, conflicts } = dropConflictingLabels(written, groups.samePhoto, options.attributes);
  const summary: DatasetSummary = {
    products: written.length,
    images: imageCount,
    skipped,
    labelCounts: Object.fromEntries(options.attributes.map((a) => [a.name, Object.fromEntries(a.labels.map((l) => [l, 0]))])),
    duplicates: { products: groups.duplicates, groups: groups.groups },
    labelConflicts: conflicts,
    splits: { train: 0, val: 0, test: 0 },
    hash: "",
  };
  const items = createWriteStream(path.join(options.out, "items.jsonl"));
  for (const [i, w] of written.entries()) {
    const attributes = cleaned[i] as Record<string, string | null>;
    for (const [name, label] of Object.entries(attributes)) {
      const counts = summary.labelCounts[name];
      if (label !== null && counts) counts[label] = (counts[label] ?? 0) + 1;
    }
    const segments = referenceSegments(attributes);
    const split = typeof options.split === "string" ? options.split : splitOf(groups.groupKeys[i] as string, options.split ?? DEFAULT_SPLIT_SHARES);
    summary.splits[split] += 1;
    const item = {
      id: w.source.id,
      images: w.images,
      attributes,
      reference: w.source.reference ?? joinSegments(segments),
      reference_segments: w.source.reference === undefined ? segments : null,
      artisan: w.source.artisan,
      split,
      group: groups.groupKeys[i],
    };
    await write(items, `${JSON.stringify(item)}\n`, digest);
  }
  await close(items);
  summary.hash = digest.digest("hex");

  const dataset = {
    format: DATASET_FORMAT,
    image_size: imageSize,
    background,
    attributes: options.attributes.map((a) => ({ name: a.name, labels: [...a.labels] })),
    source: options.source,
    products: summary.products,
    images: summary.images,
    hash: summary.hash,
    split_rule:
      typeof options.split === "string"
        ? `every product: ${options.split}`
        : `by duplicate group: sha256(smallest product id in the group), first 32 bits / 2^32 < ${(options.split ?? DEFAULT_SPLIT_SHARES).test} test, < ${(options.split ?? DEFAULT_SPLIT_SHARES).test + (options.split ?? DEFAULT_SPLIT_SHARES).val} val, else train`,
    splits: summary.splits,
    skipped: summary.skipped,
    duplicates: summary.duplicates,
    label_conflicts: summary.labelConflicts,
    label_counts: summary.labelCounts,
  };
  await writeFile(path.join(options.out, "dataset.json"), `${JSON.stringify(dataset, null, 2)}\n`);
  return summary;
}

/** The house-style segments of a product's known labels (attributes the house style has no words for are not stated). */
function referenceSegments(attributes: Record<string, string | null>): HouseStyleSegment[] {
  return houseStyleSegments(attributes as Partial<Record<AttributeName, string | null>>);
}

/**
 * Where the very same photo carries different labels for an attribute (the same picture listed as a
 * necklace in one shop and a pendant in another), the source disagrees with itself: that attribute
 * becomes unknown for every product involved, instead of teaching the model both answers.
 */
function dropConflictingLabels(
  written: readonly WrittenProduct[],
  samePhoto: readonly number[][],
  attributes: ReadonlyArray<{ name: string }>,
): { attributes: Array<Record<string, string | null>>; conflicts: Record<string, number> } {
  const out = written.map((w) => Object.fromEntries(attributes.map((a) => [a.name, w.source.attributes[a.name] ?? null])));
  const conflicts: Record<string, number> = {};
  for (const { name } of attributes) {
    written.forEach((w, i) => {
      const label = w.source.attributes[name] ?? null;
      if (label === null) return;
      const disagrees = (samePhoto[i] ?? []).some((j) => {
        const other = written[j]?.source.attributes[name] ?? null;
        return other !== null && other !== label;
      });
      if (disagrees) {
        (out[i] as Record<string, string | null>)[name] = null;
        conflicts[name] = (conflicts[name] ?? 0) + 1;
      }
    });
  }
  return { attributes: out, conflicts };
}

async function write(stream: WriteStream, chunk: Uint8Array | string, digest: Hash): Promise<void> {
  digest.update(chunk);
  if (!stream.write(chunk)) await once(stream, "drain");
}

async function close(stream: WriteStream): Promise<void> {
  stream.end();
  await once(stream, "finish");
}
