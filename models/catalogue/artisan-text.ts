import type { Category, Finish, Gemstone, Metal, ProductAttributes, Setting, Style } from "./attributes.js";
import type { Random } from "./random.js";

/**
 * What an artisan might type into a listing: other words for the same metal,
 * typos, facts left out, gift-shop fluff, odd casing and the odd emoji. The model
 * is trained to turn photos (and, downstream, such text) into the house style, so
 * this text must say the same facts in many inconsistent ways, and sometimes not
 * at all.
 */
export function artisanDescription(a: ProductAttributes, rng: Random): string {
  const facts = {
    category: rng.pick(categoryWords(a.category, a.style)),
    metal: rng.chance(0.18) ? undefined : rng.pick(METAL_WORDS[a.metal]),
    gem: a.gemstone === "none" || rng.chance(0.2) ? undefined : rng.pick(GEM_WORDS[a.gemstone]),
    finish: rng.chance(0.5) ? rng.pick(FINISH_WORDS[a.finish]) : undefined,
    setting: a.setting !== "none" && rng.chance(0.3) ? rng.pick(SETTING_WORDS[a.setting]) : undefined,
    style: rng.chance(0.45) ? rng.pick(STYLE_WORDS[a.style]) : undefined,
  };
  const fluff = (): string => rng.pick(FLUFF);

  let text = rng.pick(TEMPLATES)(facts, fluff, rng);
  text = addTypos(text, rng);
  text = recase(text, rng);
  if (rng.chance(0.15)) text += " " + rng.pick(EMOJI) + (rng.chance(0.4) ? rng.pick(EMOJI) : "");
  if (rng.chance(0.1)) text = rng.pick(EMOJI) + " " + text;
  return text.replace(/\s+/g, (ws) => (ws.includes("\n") ? "\n" : " ")).trim();
}

interface Facts {
  category: string;
  metal: string | undefined;
  gem: string | undefined;
  finish: string | undefined;
  setting: string | undefined;
  style: string | undefined;
}

type Template = (f: Facts, fluff: () => string, rng: Random) => string;

const TEMPLATES: readonly Template[] = [
  // Chatty sentence.
  (f, fluff, rng) => {
    let s = `${cap(fluff())}! ${join([f.finish, f.metal, f.category])}`;
    if (f.gem) s += ` with ${rng.chance(0.5) ? "a " : ""}${f.gem}${f.setting ? ` (${f.setting})` : ""}`;
    if (f.style) s += `, ${f.style}`;
    return `${s}. ${rng.chance(0.6) ? cap(fluff()) + "." : ""}`;
  },
  // Dash-separated listing title.
  (f, _fluff, rng) => {
    const sep = rng.pick([" - ", " | ", " / ", ", "]);
    return [f.metal, f.category, f.gem, f.style, f.finish].filter(isSet).join(sep);
  },
  // Key: value lines.
  (f, fluff, rng) => {
    const lines = [`${cap(join([f.finish, f.category]))}`];
    if (f.metal) lines.push(`${rng.pick(["Material", "Metal", "made of", "MATERIAL"])}: ${f.metal}`);
    if (f.gem) lines.push(`${rng.pick(["Stone", "Gem", "Gemstone"])}: ${f.gem}${f.setting ? `, ${f.setting}` : ""}`);
    if (f.style) lines.push(`${rng.pick(["Style", "Type"])}: ${f.style}`);
    if (rng.chance(0.5)) lines.push(fluff());
    return lines.join(rng.chance(0.5) ? "\n" : "; ");
  },
  // Casual lower-case.
  (f, fluff, rng) => {
    let s = `my ${join([f.finish, f.metal, f.category])}`;
    if (f.gem) s += ` ${rng.pick(["w/", "with", "+"])} ${f.gem} ${rng.pick(["stone", "", "gem"])}`;
    if (f.style) s += ` ${f.style}`;
    return `${s} ${rng.pick(["...", "!!", ",", " -"])} ${fluff()}`;
  },
  // Fluff first, facts trailing.
  (f, fluff, rng) =>
    `${cap(fluff())}. ${cap(fluff())}. ${join([f.gem, f.metal, f.category])}${f.finish ? `, ${f.finish} finish` : ""}${rng.chance(0.5) ? "." : ""}`,
];

function categoryWords(category: Category, style: Style): readonly string[] {
  switch (category) {
    case "ring":
      return ["ring", "Ring", "band ring", "statement ring", "stacking ring"];
    case "earrings":
      return style === "stud"
        ? ["earrings", "studs", "stud earrings", "earings", "pair of earrings"]
        : style === "hoop"
          ? ["earrings", "hoops", "hoop earrings", "earings"]
          : ["earrings", "dangle earrings", "drops", "earings", "pair of earrings"];
    case "necklace":
      return ["necklace", "chain necklace", "neckalce", "Necklace", "choker"];
    case "pendant":
      return ["pendant", "pendant necklace", "charm pendant", "pendent"];
    case "bracelet":
      return style === "bangle"
        ? ["bracelet", "bangle", "bangle bracelet", "braclet"]
        : style === "cuff"
          ? ["bracelet", "cuff", "cuff bracelet", "braclet"]
          : ["bracelet", "chain bracelet", "braclet", "wrist chain"];
    case "brooch":
      return ["brooch", "pin", "broach", "lapel pin", "Brooch"];
  }
}

const METAL_WORDS: Record<Metal, readonly string[]> = {
  "yellow gold": ["gold", "18k gold", "14k gold", "yellow gold", "9ct gold", "solid gold", "18K", "gold vermeil"],
  "white gold": ["white gold", "18k white gold", "14k white gold", "WG", "white-gold", "whitegold"],
  "rose gold": ["rose gold", "rosegold", "pink gold", "rose-gold", "18k rose gold", "red gold"],
  "sterling silver": ["silver", "925 silver", "sterling", "sterling silver", "S925", ".925", "solid silver"],
  copper: ["copper", "pure copper", "raw copper", "solid copper", "Copper"],
};

const GEM_WORDS: Record<Exclude<Gemstone, "none">, readonly string[]> = {
  diamond: ["diamond", "diamonds", "0.3ct diamond", "brilliant cut diamond", "real diamond", "diamand"],
  ruby: ["ruby", "red ruby", "rubies", "genuine ruby", "rubby"],
  sapphire: ["sapphire", "blue sapphire", "saphire", "sapphires", "ceylon sapphire"],
  emerald: ["emerald", "green emerald", "emrald", "colombian emerald", "emeralds"],
  amethyst: ["amethyst", "purple amethyst", "amethist", "amethysts"],
  pearl: ["pearl", "freshwater pearl", "pearls", "white pearl", "perl"],
};

const FINISH_WORDS: Record<Finish, readonly string[]> = {
  polished: ["polished", "high polish", "shiny", "mirror polished"],
  hammered: ["hammered", "hand hammered", "textured", "hammer textured"],
  brushed: ["brushed", "matte", "satin", "brushed matte"],
};

const SETTING_WORDS: Record<Exclude<Setting, "none">, readonly string[]> = {
  solitaire: ["solitaire", "single stone", "prong set"],
  halo: ["halo", "halo of tiny diamonds", "surrounded by small stones"],
  bezel: ["bezel set", "bezel", "rub-over setting"],
  cluster: ["cluster", "cluster of stones", "clustered"],
};

const STYLE_WORDS: Record<Style, readonly string[]> = {
  "slim band": ["thin band", "slim band", "dainty", "skinny band"],
  "wide band": ["wide band", "chunky band", "thick band"],
  "twisted band": ["twisted band", "twist", "braided band"],
  stud: ["stud", "studs", "post earrings"],
  hoop: ["hoop", "hoops", "huggies"],
  drop: ["drop", "dangle", "drops"],
  "cable chain": ["cable chain", "link chain", "classic chain"],
  "rope chain": ["rope chain", "twisted rope", "rope"],
  "box chain": ["box chain", "venetian chain", "box link"],
  bangle: ["bangle", "solid bangle"],
  cuff: ["cuff", "open cuff"],
  floral: ["flower", "floral", "flower design"],
  bar: ["bar", "bar brooch", "straight bar"],
  round: ["round", "circle", "circular"],
};

const FLUFF: readonly string[] = [
  "handmade with love",
  "perfect gift",
  "made to order",
  "gift box included",
  "one of a kind",
  "ships in 2 days",
  "great for everyday wear",
  "perfect for her",
  "unique piece",
  "i make each piece by hand in my studio",
  "anniversary gift idea",
  "nickel free",
  "free shipping",
  "limited edition",
  "great for weddings",
  "treat yourself",
];

const EMOJI: readonly string[] = ["✨", "💍", "❤️", "🎁", "💎", "🌸", "😍", "🔥"];

function isSet(s: string | undefined): s is string {
  return s !== undefined && s !== "";
}

function join(parts: ReadonlyArray<string | undefined>): string {
  return parts.filter(isSet).join(" ");
}

function cap(s: string): string {
  return s.charAt(0).toUpperCase() + s.slice(1);
}

/** Swaps, drops or doubles letters in a few words. */
function addTypos(text: string, rng: Random): string {
  if (!rng.chance(0.35)) return text;
  const words = text.split(" ");
  const count = rng.int(1, 3);
  for (let n = 0; n < count; n++) {
    const i = rng.int(0, words.length - 1);
    const w = words[i];
    if (w === undefined || w.length < 4 || !/^[a-z]+$/i.test(w)) continue;
    const j = rng.int(1, w.length - 2);
    const kind = rng.int(0, 2);
    words[i] =
      kind === 0
        ? w.slice(0, j) + w.charAt(j + 1) + w.charAt(j) + w.slice(j + 2)
        : kind === 1
          ? w.slice(0, j) + w.slice(j + 1)
          : w.slice(0, j) + w.charAt(j) + w.slice(j);
  }
  return words.join(" ");
}

function recase(text: string, rng: Random): string {
  const mode = rng.weighted<"keep" | "lower" | "upper" | "title">([
    ["keep", 0.6],
    ["lower", 0.2],
    ["upper", 0.08],
    ["title", 0.12],
  ]);
  switch (mode) {
    case "keep":
      return text;
    case "lower":
      return text.toLowerCase();
    case "upper":
      return text.toUpperCase();
    case "title":
      return text.replace(/\b([a-z])/g, (c) => c.toUpperCase());
  }
}
