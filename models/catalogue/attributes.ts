/**
 * The attribute vocabulary of Facet's jewellery descriptions.
 *
 * These label sets are the contract between the synthetic catalogue, the dataset
 * exporter, the training code (which copies them into each bundle's manifest) and
 * the runtime. Labels are written exactly as they appear in house-style text, so
 * a description can be checked against the attribute heads by phrase matching.
 */
export const ATTRIBUTES = {
  category: ["ring", "earrings", "necklace", "bracelet", "pendant", "brooch"],
  metal: ["yellow gold", "white gold", "rose gold", "sterling silver", "copper"],
  gemstone: ["none", "diamond", "ruby", "sapphire", "emerald", "amethyst", "pearl"],
  finish: ["polished", "hammered", "brushed"],
  setting: ["none", "solitaire", "halo", "bezel", "cluster"],
  style: [
    "slim band",
    "wide band",
    "twisted band",
    "stud",
    "hoop",
    "drop",
    "cable chain",
    "rope chain",
    "box chain",
    "bangle",
    "cuff",
    "floral",
    "bar",
    "round",
  ],
} as const;

export type AttributeName = keyof typeof ATTRIBUTES;
export type Category = (typeof ATTRIBUTES.category)[number];
export type Metal = (typeof ATTRIBUTES.metal)[number];
export type Gemstone = (typeof ATTRIBUTES.gemstone)[number];
export type Finish = (typeof ATTRIBUTES.finish)[number];
export type Setting = (typeof ATTRIBUTES.setting)[number];
export type Style = (typeof ATTRIBUTES.style)[number];

export const ATTRIBUTE_NAMES = Object.keys(ATTRIBUTES) as AttributeName[];

/** The true attributes of one product. `setting` is "none" exactly when `gemstone` is "none". */
export interface ProductAttributes {
  category: Category;
  metal: Metal;
  gemstone: Gemstone;
  finish: Finish;
  setting: Setting;
  style: Style;
}

/** Which styles each category can have (a ring has a band, a necklace a chain, ...). */
export const STYLES_BY_CATEGORY: Record<Category, readonly Style[]> = {
  ring: ["slim band", "wide band", "twisted band"],
  earrings: ["stud", "hoop", "drop"],
  necklace: ["cable chain", "rope chain", "box chain"],
  pendant: ["cable chain", "rope chain", "box chain"],
  bracelet: ["cable chain", "bangle", "cuff"],
  brooch: ["floral", "bar", "round"],
};
