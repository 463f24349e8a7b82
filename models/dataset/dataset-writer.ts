import { createWriteStream, type WriteStream } from "node:fs";
import { mkdir, rm, writeFile } from "node:fs/promises";
import path from "node:path";
import { once } from "node:events";
import { PermanentError } from "../../shared/errors/index.js";
import { preprocessPhoto } from "../runtime/preprocess.js";

export const DATASET_FORMAT = "facet-dataset/1";

/** One product as a dataset source yields it: encoded photos plus what is known of it. */
export interface SourceProduct {
  id: string;
  photos: readonly Uint8Array[];
  /** Label per attribute; `null` where the source does not say. */
  attributes: Record<string, string | null>;
  /** House-style text, or null when the source has none. */
  reference: string | null;
  /** What the catalogue says today (the artisan's text). */
  artisan: string | null;
}

export interface DatasetWriterOptions {
  out: string;
  /** Model input side, pixels. Default 128. */
  imageSize?: number;
  /** Padding and alpha background. Default white. */
  background?: [number, number, number];
  attributes: ReadonlyArray<{ name: string; labels: readonly string[] }>;
  /** How the data was made (generator and seed, or the catalogue file): copied into bundles. */
  source: Record<string, unknown>;
  /** Products preprocessed at once. Default 8. */
  concurrency?: number;
  /** Called after each product is written (for progress). */
  onProgress?: (written: number, skipped: number) => void;
}

export interface DatasetSummary {
  products: number;
  images: number;
  /** Products left out because a photo could not be used, by reason code. */
  skipped: Record<string, number>;
  labelCounts: Record<string, Record<string, number>>;
}

/**
 * Write a facet-dataset/1 folder (models/FORMAT.md) from a stream of products. Photos go
 * through the runtime's own preprocessing, so training sees exactly what serving sees.
 * A product with an unusable photo is left out and counted; the export goes on.
 */
export async function writeDataset(options: DatasetWriterOptions, products: AsyncIterable<SourceProduct>): Promise<DatasetSummary> {
  const imageSize = options.imageSize ?? 128;
  const background = options.background ?? [255, 255, 255];
  const concurrency = options.concurrency ?? 8;
  const labels = new Map(options.attributes.map((a) => [a.name, new Set(a.labels)]));
  await rm(options.out, { recursive: true, force: true });
  await mkdir(options.out, { recursive: true });
  const images = createWriteStream(path.join(options.out, "images.u8"));
  const items = createWriteStream(path.join(options.out, "items.jsonl"));

  const summary: DatasetSummary = {
    products: 0,
    images: 0,
    skipped: {},
    labelCounts: Object.fromEntries(options.attributes.map((a) => [a.name, Object.fromEntries(a.labels.map((l) => [l, 0]))])),
  };

  const prepare = async (product: SourceProduct) => {
    for (const [name, label] of Object.entries(product.attributes)) {
      if (label !== null && !labels.get(name)?.has(label)) {
        throw new Error(`product ${product.id}: attribute ${name} = ${JSON.stringify(label)} is not one of the dataset's labels`);
      }
    }
    try {
      const pixels = await Promise.all(product.photos.map(async (p) => (await preprocessPhoto(p, { imageSize, background })).pixels));
      return { product, pixels, error: undefined };
    } catch (error) {
      if (error instanceof PermanentError) return { product, error, pixels: undefined };
      throw error;
    }
  };

  // Keep `concurrency` products in preprocessing while writing strictly in source order.
  const window: ReturnType<typeof prepare>[] = [];
  const drain = async () => {
    const done = await (window.shift() as ReturnType<typeof prepare>);
    if (done.error) {
      summary.skipped[done.error.code] = (summary.skipped[done.error.code] ?? 0) + 1;
    } else {
      const indices = done.pixels.map((_, i) => summary.images + i);
      for (const p of done.pixels) await write(images, p);
      summary.images += done.pixels.length;
      summary.products += 1;
      for (const [name, label] of Object.entries(done.product.attributes)) {
        const counts = summary.labelCounts[name];
        if (label !== null && counts) counts[label] = (counts[label] ?? 0) + 1;
      }
      const { id, attributes, reference, artisan } = done.product;
      await write(items, `${JSON.stringify({ id, images: indices, attributes, reference, artisan })}\n`);
    }
    options.onProgress?.(summary.products, Object.values(summary.skipped).reduce((a, b) => a + b, 0));
  };
  for await (const product of products) {
    window.push(prepare(product));
    if (window.length >= concurrency) await drain();
  }
  while (window.length > 0) await drain();
  await Promise.all([close(images), close(items)]);

  const dataset = {
    format: DATASET_FORMAT,
    image_size: imageSize,
    background,
    attributes: options.attributes.map((a) => ({ name: a.name, labels: [...a.labels] })),
    source: options.source,
    products: summary.products,
    images: summary.images,
    skipped: summary.skipped,
    label_counts: summary.labelCounts,
  };
  await writeFile(path.join(options.out, "dataset.json"), `${JSON.stringify(dataset, null, 2)}\n`);
  return summary;
}

async function write(stream: WriteStream, chunk: Uint8Array | string): Promise<void> {
  if (!stream.write(chunk)) await once(stream, "drain");
}

async function close(stream: WriteStream): Promise<void> {
  stream.end();
  await once(stream, "finish");
}
