import { describe, expect, it } from "vitest";
import { planProduct } from "./catalogue-plan.js";
import { generateCatalogue, generateProduct, type GeneratedProduct } from "./generate-catalogue.js";

async function collect(it: AsyncIterable<GeneratedProduct>): Promise<GeneratedProduct[]> {
  const out: GeneratedProduct[] = [];
  for await (const x of it) out.push(x);
  return out;
}

describe("generateCatalogue", () => {
  it("yields products in index order with one encoded photo per planned photo", async () => {
    const products = await collect(generateCatalogue({ seed: 9, count: 7, concurrency: 3 }));
    expect(products.map((p) => p.product.index)).toEqual([0, 1, 2, 3, 4, 5, 6]);
    for (const { product, photos } of products) {
      expect(product).toEqual(planProduct(9, product.index));
      expect(photos).toHaveLength(product.photos.length);
      for (const bytes of photos) expect(bytes.length).toBeGreaterThan(100);
    }
  });

  it("gives the same bytes whatever the concurrency or starting index", async () => {
    const serial = await collect(generateCatalogue({ seed: 9, count: 4, concurrency: 1 }));
    const slice = await collect(generateCatalogue({ seed: 9, count: 2, start: 2, concurrency: 4 }));
    const single = await generateProduct(9, 3);
    expect(slice.map((p) => p.product.id)).toEqual(serial.slice(2).map((p) => p.product.id));
    slice.forEach((p, i) => p.photos.forEach((b, k) => expect(b.equals(serial[i + 2]?.photos[k] as Buffer)).toBe(true)));
    single.photos.forEach((b, k) => expect(b.equals(serial[3]?.photos[k] as Buffer)).toBe(true));
  });

  it("yields nothing for count 0 and rejects bad options", async () => {
    expect(await collect(generateCatalogue({ seed: 1, count: 0 }))).toEqual([]);
    await expect(collect(generateCatalogue({ seed: 1, count: 2, concurrency: 0 }))).rejects.toThrow(RangeError);
    await expect(collect(generateCatalogue({ seed: 1, count: -1 }))).rejects.toThrow(RangeError);
  });
});
