import {
  ATTRIBUTES,
  STYLES_BY_CATEGORY,
  type Gemstone,
  type ProductAttributes,
  type Setting,
} from "./attributes.js";
import { artisanDescription } from "./artisan-text.js";
import { houseStyleDescription } from "./house-style.js";
import { planPhoto, type PhotoSpec } from "./photo-spec.js";
import { Random } from "./random.js";

/** One synthetic product: its true attributes, how to photograph it, and its two descriptions. */
export interface ProductSpec {
  /** `syn-<seed>-<index, 6 digits>`. */
  id: string;
  seed: number;
  index: number;
  attributes: ProductAttributes;
  /** 1 to 3 photos, primary first. */
  photos: PhotoSpec[];
  /** The house-style sentence (the training target). */
  referenceDescription: string;
  /** What an artisan might have written instead. */
  artisanDescription: string;
}

/** Share of products without a stone; the other gemstones split the rest evenly. */
const NO_GEMSTONE_SHARE = 0.25;

const GEMSTONE_WEIGHTS: ReadonlyArray<readonly [Gemstone, number]> = ATTRIBUTES.gemstone.map(
  (g) => [g, g === "none" ? NO_GEMSTONE_SHARE : (1 - NO_GEMSTONE_SHARE) / (ATTRIBUTES.gemstone.length - 1)] as const,
);

const STONE_SETTINGS = ATTRIBUTES.setting.filter((s): s is Exclude<Setting, "none"> => s !== "none");

/**
 * Plans product `index` of catalogue `seed`. Depends only on `(seed, index)`, so a
 * product is the same whether 10 or 10,000 are generated, and in any order.
 */
export function planProduct(seed: number, index: number): ProductSpec {
  if (!Number.isInteger(seed) || !Number.isInteger(index) || index < 0) {
    throw new RangeError(`planProduct: seed must be an integer and index a non-negative integer (got ${seed}, ${index})`);
  }
  const rng = Random.from("facet-catalogue", seed, index);
  const attributes = planAttributes(rng.fork("attributes"));

  const photoRng = rng.fork("photos");
  const designSeed = rng.fork("design").seed;
  const photoCount = photoRng.weighted<number>([
    [1, 0.35],
    [2, 0.4],
    [3, 0.25],
  ]);
  const photos: PhotoSpec[] = [];
  for (let p = 0; p < photoCount; p++) photos.push(planPhoto(photoRng.fork(p), designSeed));

  return {
    id: `syn-${seed}-${String(index).padStart(6, "0")}`,
    seed,
    index,
    attributes,
    photos,
    referenceDescription: houseStyleDescription(attributes),
    artisanDescription: artisanDescription(attributes, rng.fork("artisan")),
  };
}

/** Plans products `0 .. count-1` of catalogue `seed`. */
export function planCatalogue(seed: number, count: number): ProductSpec[] {
  const products: ProductSpec[] = [];
  for (let i = 0; i < count; i++) products.push(planProduct(seed, i));
  return products;
}

function planAttributes(rng: Random): ProductAttributes {
  const category = rng.pick(ATTRIBUTES.category);
  const gemstone = rng.weighted(GEMSTONE_WEIGHTS);
  return {
    category,
    metal: rng.pick(ATTRIBUTES.metal),
    gemstone,
    finish: rng.pick(ATTRIBUTES.finish),
    setting: gemstone === "none" ? "none" : rng.pick(STONE_SETTINGS),
    style: rng.pick(STYLES_BY_CATEGORY[category]),
  };
}
