import type { AttributeName, ProductAttributes } from "./attributes.js";

/**
 * The house style: one consistent sentence per product, built only from its
 * known attributes. Training targets are written in it, so the model learns to
 * describe every product the same way whatever the artisan wrote.
 *
 * Every attribute label appears verbatim (as whole words), and no sentence names
 * a label of another value, so the stated category, metal and gemstone can be
 * read back by phrase matching. An attribute that is not known (a real catalogue
 * rarely states them all) is left out of the sentence, never guessed.
 */
export function houseStyleDescription(labels: HouseStyleLabels): string {
  return joinSegments(houseStyleSegments(labels));
}

/** What the house style knows of a product: a label per attribute, or nothing where unknown. */
export type HouseStyleLabels = Partial<Record<AttributeName, string | null>> | ProductAttributes;

/**
 * One piece of a house-style sentence (models/FORMAT.md, `reference_segments`): `slot` names the
 * attribute whose label the text states, `requires` the attributes without which the piece is
 * dropped, `fallback` what is said instead when `slot`'s attribute is left out. Training turns each
 * label into a slot token (the text then can only state the attribute heads' labels) and learns the
 * sentence with attributes left out, as serving leaves out those it is unsure of.
 */
export interface HouseStyleSegment {
  text: string;
  slot?: AttributeName;
  requires?: AttributeName[];
  fallback?: string;
}

/** The generic noun when the category is not stated. */
export const CATEGORY_FALLBACK = "piece";

export function houseStyleSegments(labels: HouseStyleLabels): HouseStyleSegment[] {
  const known = (name: AttributeName): string | undefined => {
    const value = (labels as Partial<Record<AttributeName, string | null>>)[name];
    return value === null || value === undefined || value === "" ? undefined : value;
  };
  const segments: HouseStyleSegment[] = [];
  const finish = known("finish");
  if (finish) segments.push({ text: capitalise(finish), slot: "finish" });
  const metal = known("metal");
  if (metal) segments.push({ text: metal, slot: "metal" });
  const category = known("category");
  segments.push(category ? { text: category, slot: "category", fallback: CATEGORY_FALLBACK } : { text: CATEGORY_FALLBACK });
  const gemstone = known("gemstone");
  if (gemstone && gemstone !== "none") {
    segments.push({ text: `set with ${article(gemstone)} ${gemstone}`, slot: "gemstone" });
    const setting = known("setting");
    if (setting && setting !== "none") segments.push({ text: `in a ${setting} setting`, slot: "setting", requires: ["gemstone"] });
  }
  const style = known("style");
  if (style) segments.push({ text: `, ${styleClause(style)}`, slot: "style" });
  segments.push({ text: "." });
  return segments;
}

/** The sentence the segments make: joined by spaces (none before punctuation), first letter upper-case. */
export function joinSegments(segments: readonly HouseStyleSegment[]): string {
  let text = "";
  for (const { text: piece } of segments) text += text === "" || /^[,.;:]/.test(piece) ? piece : ` ${piece}`;
  return capitalise(text);
}

function capitalise(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}

function article(word: string): string {
  return /^[aeiou]/.test(word) ? "an" : "a";
}

function styleClause(style: string): string {
  switch (style) {
    case "slim band":
    case "wide band":
    case "twisted band":
    case "cable chain":
    case "rope chain":
    case "box chain":
      return `on a ${style}`;
    case "floral":
    case "bar":
    case "round":
      return `in a ${style} design`;
    default: // stud, hoop, drop, bangle, cuff, and any other catalogue's styles
      return `in a ${style} style`;
  }
}
