import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DEMO_MODEL_DIR } from "../../cli/commands/describe.js";
import { generateCatalogue } from "../catalogue/index.js";
import { loadBundle, type ModelBundle } from "./bundle.js";
import { createDescriber, type ProductDescription, type ProductPhotos } from "./describer.js";

let bundle: ModelBundle;
const products: ProductPhotos[] = [];
const truth = new Map<string, Record<string, string>>();

beforeAll(async () => {
  bundle = await loadBundle(DEMO_MODEL_DIR);
  for await (const { product, photos } of generateCatalogue({ seed: 31337, count: 10, concurrency: 4 })) {
    products.push({ id: product.id, photos });
    truth.set(product.id, { ...product.attributes });
  }
});
afterAll(async () => {
  await bundle?.close();
});

describe("describer on the demo bundle", () => {
  it("describes every product with all attributes, confidences and a house-style sentence", async () => {
    const out = await createDescriber(bundle, { batchSize: 4 }).describe(products);
    expect(out).toHaveLength(products.length);
    for (const o of out) {
      expect(o.ok).toBe(true);
      const d = o as ProductDescription;
      expect(d.description).toMatch(/^[A-Z][a-z].*\.$/);
      expect(Object.keys(d.attributes)).toEqual(bundle.manifest.attributes.map((a) => a.name));
      for (const [name, p] of Object.entries(d.probabilities)) {
        expect(p.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 4);
        expect(d.attributes[name]?.confidence).toBe(Math.max(...p));
      }
      expect(d.tokens.at(-1)).toBe(bundle.tokenizer.eosId);
      expect(d.model).toEqual({ name: bundle.manifest.name, version: bundle.manifest.version });
    }
    // The demo model reads these photos right (it never trained on seed 31337).
    const right = out.filter((o) => o.ok && o.attributes.category?.label === truth.get(o.id)?.category).length;
    expect(right).toBeGreaterThanOrEqual(9);
  });

  it("is deterministic and independent of batch size and cache", async () => {
    const [a, b, c] = await Promise.all([
      createDescriber(bundle, { batchSize: 1 }).describe(products),
      createDescriber(bundle, { batchSize: 8 }).describe(products),
      createDescriber(bundle, { batchSize: 8, useCache: false }).describe(products),
    ]);
    const tokens = (xs: typeof a) => xs.map((o) => (o.ok ? o.tokens : o.code));
    expect(tokens(b)).toEqual(tokens(a));
    expect(tokens(c)).toEqual(tokens(a));
  });

  it("fails a product with a corrupt photo alone; the rest of the batch is described", async () => {
    const corrupt = Buffer.from((products[1] as ProductPhotos).photos[0] as Uint8Array).subarray(0, 300);
    const batch: ProductPhotos[] = [
      products[0] as ProductPhotos,
      { id: "broken", photos: [corrupt] },
      { id: "empty", photos: [new Uint8Array(0)] },
      { id: "svg", photos: [Buffer.from('<svg xmlns="http://www.w3.org/2000/svg" width="9" height="9"/>')] },
      products[2] as ProductPhotos,
    ];
    const out = await createDescriber(bundle, { batchSize: 8 }).describe(batch);
    expect(out.map((o) => [o.id, o.ok ? "ok" : o.code])).toEqual([
      [products[0]?.id, "ok"],
      ["broken", expect.stringMatching(/^photo_(truncated|corrupt)$/)],
      ["empty", "photo_empty"],
      ["svg", "photo_unsupported_format"],
      [products[2]?.id, "ok"],
    ]);
    const failed = out[1];
    expect(failed?.ok === false && failed.message).toMatch(/^photo 1 of product broken: /);
  });
});
