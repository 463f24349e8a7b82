import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DEMO_MODEL_DIR } from "../../cli/commands/describe.js";
import { PermanentError } from "../../shared/errors/index.js";
import { generateCatalogue } from "../catalogue/index.js";
import { readBundleSpec, type BundleSpec } from "./bundle-spec.js";
import { loadBundle, type ModelBundle } from "./bundle.js";
import { createDescriber } from "./describer.js";
import { PhotoError, preprocessPhoto } from "./preprocess.js";
import { createPreprocessor, type ProductPhotos } from "./preprocessor.js";

let spec: BundleSpec;
let bundle: ModelBundle;
const products: ProductPhotos[] = [];

beforeAll(async () => {
  [spec, bundle] = await Promise.all([readBundleSpec(DEMO_MODEL_DIR), loadBundle(DEMO_MODEL_DIR)]);
  for await (const { product, photos } of generateCatalogue({ seed: 77, count: 4, concurrency: 4 })) products.push({ id: product.id, photos });
});
afterAll(async () => {
  await bundle?.close();
});

describe("preprocessor from the manifest", () => {
  it("gives byte-identical pixels to the loaded bundle's describer, and to preprocessPhoto with the manifest's settings", async () => {
    const fromSpec = createPreprocessor(spec.manifest);
    const describer = createDescriber(bundle);
    const { image_size, background } = spec.manifest.preprocessing;
    for (const product of products) {
      const [mine, theirs] = await Promise.all([fromSpec.preprocess(product), describer.preprocess(product)]);
      expect(mine.id).toBe(product.id);
      expect(mine.photos.length).toBeGreaterThan(0);
      expect(mine.photos.map((p) => Buffer.from(p))).toEqual(theirs.photos.map((p) => Buffer.from(p)));
      const direct = await preprocessPhoto(product.photos[0] as Uint8Array, { imageSize: image_size, background });
      expect(Buffer.from(mine.photos[0] as Uint8Array).equals(Buffer.from(direct.pixels))).toBe(true);
    }
  });

  it("keeps the first max_photos photos, refuses a product with none, and names a bad photo", async () => {
    const max = spec.manifest.preprocessing.max_photos;
    const photo = products[0]?.photos[0] as Uint8Array;
    const preprocessor = createPreprocessor(spec.manifest);
    const many = await preprocessor.preprocess({ id: "many", photos: Array.from({ length: max + 2 }, () => photo) });
    expect(many.photos).toHaveLength(max);
    await expect(preprocessor.preprocess({ id: "none", photos: [] })).rejects.toMatchObject({ code: "photo_none" });
    const bad = await preprocessor.preprocess({ id: "p9", photos: [photo, new Uint8Array([1, 2, 3])] }).catch((e: unknown) => e);
    expect(bad).toBeInstanceOf(PhotoError);
    expect(bad).toMatchObject({ photo: 1, message: expect.stringMatching(/^photo 2 of product p9: /) });
    expect(bad).toBeInstanceOf(PermanentError);
  });

  it("applies maxInputPixels", async () => {
    const tiny = createPreprocessor(spec.manifest, { maxInputPixels: 16 });
    await expect(tiny.preprocess(products[0] as ProductPhotos)).rejects.toMatchObject({ code: "photo_too_large" });
  });
});
