import { ATTRIBUTE_NAMES, ATTRIBUTES } from "../catalogue/attributes.js";
import { generateCatalogue } from "../catalogue/index.js";
import type { SourceProduct } from "./dataset-writer.js";

/** The attribute heads of a synthetic dataset: all of attributes.ts. */
export const SYNTHETIC_ATTRIBUTES = ATTRIBUTE_NAMES.map((name) => ({ name, labels: [...ATTRIBUTES[name]] }));

/** Products `0..count-1` of synthetic catalogue `seed`, rendered, as a dataset source. */
export async function* syntheticSource(seed: number, count: number, concurrency = 4): AsyncIterable<SourceProduct> {
  for await (const { product, photos } of generateCatalogue({ seed, count, concurrency })) {
    yield {
      id: product.id,
      photos,
      attributes: { ...product.attributes },
      artisan: product.artisanDescription,
    };
  }
}
