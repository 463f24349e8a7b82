import { planProduct, type ProductSpec } from "./catalogue-plan.js";
import { renderPhoto } from "./render.js";

export interface GenerateCatalogueOptions {
  /** Catalogue seed: the same seed gives the same products, photo bytes included. */
  seed: number;
  /** Number of products, indices `0 .. count-1`. */
  count: number;
  /** First product index (default 0), to generate a slice of a catalogue. */
  start?: number;
  /**
   * Products rendered at once (default 4). Rendering runs on libvips threads, so a
   * little more than the core count keeps them busy; more only holds memory.
   */
  concurrency?: number;
}

export interface GeneratedProduct {
  product: ProductSpec;
  /** Encoded photo bytes, in the order of `product.photos`. */
  photos: Buffer[];
}

/** Plans and renders one product. */
export async function generateProduct(seed: number, index: number): Promise<GeneratedProduct> {
  const product = planProduct(seed, index);
  const photos = await Promise.all(product.photos.map((photo) => renderPhoto(photo, product.attributes)));
  return { product, photos };
}

/**
 * Products of a synthetic catalogue with their rendered photos, yielded in index
 * order while up to `concurrency` products render ahead.
 */
export async function* generateCatalogue(options: GenerateCatalogueOptions): AsyncIterable<GeneratedProduct> {
  const { seed, count } = options;
  const start = options.start ?? 0;
  const concurrency = options.concurrency ?? 4;
  if (!Number.isInteger(count) || count < 0) throw new RangeError(`generateCatalogue: count must be a non-negative integer (got ${count})`);
  if (!Number.isInteger(concurrency) || concurrency < 1) {
    throw new RangeError(`generateCatalogue: concurrency must be a positive integer (got ${concurrency})`);
  }
  const pending: Array<Promise<GeneratedProduct>> = [];
  let next = 0;
  const launch = (): void => {
    const p = generateProduct(seed, start + next++);
    // Rejections surface when awaited below; this keeps an early one from being "unhandled".
    p.catch(() => undefined);
    pending.push(p);
  };
  while (next < count && pending.length < concurrency) launch();
  while (pending.length > 0) {
    const head = pending.shift() as Promise<GeneratedProduct>;
    const result = await head;
    if (next < count) launch();
    yield result;
  }
}
