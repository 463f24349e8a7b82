/**
 * Facts the artisan stated, read from their text and structured fields, so a generated result never
 * silently contradicts them: "925 silver ring" is sterling silver and a ring; "pendientes de oro
 * 18k con zafiros" are gold earrings with sapphires. A result that disagrees goes to a person with
 * reason `contradicts_seller` (Amazon's auto-applied "improvements" turned sellers' copper into steel).
 *
 * Reading is deliberately cautious: a fact is taken only where the words are unambiguous. Several
 * categories named ("pendant necklace", "ring and earrings set") state none; plated metals ("gold
 * plated", "chapado en oro", "vermeil") state no metal; a gemstone negated ("no stones", "sin
 * piedras") states none. Languages: English, Spanish, French, German, Italian, Portuguese.
 */

export interface SellerFacts {
  /** The category, from a structured field or the only category the text names. */
  category?: string;
  /** Metal labels the seller's words allow ("gold" allows any gold; "925" only sterling silver). */
  metals?: string[];
  /** Purity marks as written ("925", "18k"), for the message. */
  purity?: string[];
  /** Gemstones the text names; ["none"] where it says there are none. */
  gemstones?: string[];
  /** What each fact was read from, for the reviewer. */
  evidence: string[];
}

export interface SellerInput {
  /** Free text: the artisan's description, title. */
  texts: ReadonlyArray<string | null | undefined>;
  /** Structured fields by attribute (the catalogue's own category column). */
  fields?: Readonly<Record<string, string | null | undefined>>;
}

type Lexicon = ReadonlyArray<readonly [label: string, words: readonly string[]]>;

const CATEGORY_WORDS: Lexicon = [
  ["ring", ["ring", "rings", "anillo", "anillos", "sortija", "sortijas", "bague", "bagues", "ringe", "anello", "anelli", "anel", "aneis"]],
  ["earrings", ["earring", "earrings", "pendientes", "pendiente", "aretes", "arete", "zarcillos", "boucles d oreilles", "boucle d oreille", "boucles", "ohrringe", "ohrring", "ohrstecker", "orecchini", "orecchino", "brincos", "brinco", "studs", "hoops"]],
  ["necklace", ["necklace", "necklaces", "collar", "collares", "gargantilla", "gargantillas", "collier", "colliers", "halskette", "halsketten", "collana", "collane", "colar", "colares", "choker"]],
  ["bracelet", ["bracelet", "bracelets", "bangle", "bangles", "pulsera", "pulseras", "brazalete", "brazaletes", "armband", "armbander", "bracciale", "bracciali", "braccialetto", "pulseira", "pulseiras"]],
  ["pendant", ["pendant", "pendants", "colgante", "colgantes", "dije", "dijes", "pendentif", "pendentifs", "anhanger", "ciondolo", "ciondoli", "pingente", "pingentes"]],
  ["brooch", ["brooch", "brooches", "broche", "broches", "brosche", "spilla", "spille", "alfinete"]],
  ["watch", ["watch", "watches", "wristwatch", "reloj", "relojes", "montre", "montres", "armbanduhr", "orologio", "orologi", "relogio", "relogios"]],
];

const GOLD = ["yellow gold", "white gold", "rose gold"];
const METAL_WORDS: ReadonlyArray<readonly [labels: readonly string[], words: readonly string[]]> = [
  [["white gold"], ["white gold", "oro blanco", "or blanc", "weissgold", "oro bianco", "ouro branco"]],
  [["rose gold"], ["rose gold", "pink gold", "red gold", "oro rosa", "or rose", "rosegold", "rotgold", "ouro rosa"]],
  [["yellow gold"], ["yellow gold", "oro amarillo", "or jaune", "gelbgold", "oro giallo", "ouro amarelo"]],
  [GOLD, ["gold", "oro", "en or", "golden", "ouro"]],
  [["sterling silver"], ["silver", "sterling", "plata", "argent", "silber", "sterlingsilber", "argento", "prata"]],
  [["copper"], ["copper", "cobre", "cuivre", "kupfer"]],
];
// Marks that name a metal by its purity.
const PURITY: ReadonlyArray<readonly [labels: readonly string[], pattern: RegExp]> = [
  [["sterling silver"], /(?<![\d.,])\.?925(?![\d])/],
  [GOLD, /(?<![\d])(24|22|18|14|10|9)\s?(k|kt|ct|kar|karat|carat|quilates|kilates)(?![a-z])/],
  [GOLD, /(?<![\d.,])(750|585|375)\s*(gold|oro|or|ouro)(?![a-z])|(gold|oro|ouro)\s*(750|585|375)(?![\d])/],
];
// A plated or filled metal says nothing certain about the metal a photo shows.
const PLATED = /\b(plated|plating|vermeil|gold[- ]filled|gold fill|chapad[oa]|bañad[oa]|banad[oa]|plaque|plaqué|dore|doré|vergoldet|versilbert|placcat[oa]|dorat[oa]|banhad[oa]|folheado)\b/;

const GEM_WORDS: Lexicon = [
  ["diamond", ["diamond", "diamonds", "diamante", "diamantes", "brillante", "brillantes", "diamant", "diamants", "diamanten", "diamanti"]],
  ["ruby", ["ruby", "rubies", "rubi", "rubies", "rubis", "rubin", "rubine", "rubino", "rubini"]],
  ["sapphire", ["sapphire", "sapphires", "zafiro", "zafiros", "saphir", "saphirs", "saphire", "zaffiro", "zaffiri", "safira", "safiras"]],
  ["emerald", ["emerald", "emeralds", "esmeralda", "esmeraldas", "emeraude", "emeraudes", "smaragd", "smaragde", "smeraldo", "smeraldi"]],
  ["amethyst", ["amethyst", "amethysts", "amatista", "amatistas", "amethyste", "ametista", "ametiste"]],
  ["pearl", ["pearl", "pearls", "perla", "perlas", "perle", "perles", "perlen", "perola", "perolas"]],
];
const NO_GEMS = /\b(no|without|sin|sans|ohne|senza|sem)\s+(gem|gems|gemstone|gemstones|stone|stones|piedra|piedras|pierre|pierres|stein|steine|pietra|pietre|pedra|pedras)\b/;

/** Lower-case, accents folded, punctuation other than '.' and digits turned to spaces: words can be matched whole. */
function fold(text: string): string {
  return ` ${text.normalize("NFD").replace(/\p{M}/gu, "").toLowerCase().replace(/[^a-z0-9.]+/g, " ")} `;
}

function mentions(folded: string, word: string): boolean {
  return folded.includes(` ${word} `) || folded.includes(` ${word}. `);
}

/** The facts in a seller's text and fields. */
export function readSellerFacts(input: SellerInput): SellerFacts {
  const facts: SellerFacts = { evidence: [] };
  const field = input.fields?.category;
  const fieldCategory = field ? CATEGORY_WORDS.find(([, words]) => words.includes(fold(field).trim()))?.[0] : undefined;
  const texts = input.texts.filter((t): t is string => typeof t === "string" && t.trim() !== "");
  const folded = fold(texts.join(" · "));
  if (fieldCategory) {
    facts.category = fieldCategory;
    facts.evidence.push(`category field "${field}"`);
  } else {
    const named = CATEGORY_WORDS.filter(([, words]) => words.some((w) => mentions(folded, w))).map(([label]) => label);
    if (named.length === 1) {
      facts.category = named[0] as string;
      facts.evidence.push(`text names a ${named[0]}`);
    }
  }

  if (!PLATED.test(folded)) {
    const allowed = new Set<string>();
    const words: string[] = [];
    let rest = folded;
    // Longest phrases first, each consumed, so "white gold" is not also read as "gold".
    for (const [labels, phrases] of METAL_WORDS) {
      for (const phrase of phrases) {
        if (!mentions(rest, phrase)) continue;
        labels.forEach((l) => allowed.add(l));
        words.push(phrase);
        rest = rest.split(` ${phrase} `).join("  ");
      }
    }
    const purity: string[] = [];
    for (const [labels, pattern] of PURITY) {
      const match = folded.match(pattern);
      if (!match) continue;
      labels.forEach((l) => allowed.add(l));
      purity.push(match[0].trim());
    }
    if (allowed.size > 0) {
      facts.metals = [...allowed];
      facts.evidence.push(`text says ${[...words, ...purity].map((w) => `"${w}"`).join(", ")}`);
    }
    if (purity.length) facts.purity = purity;
  }

  if (NO_GEMS.test(folded)) {
    facts.gemstones = ["none"];
    facts.evidence.push("text says there are no stones");
  } else {
    const gems = GEM_WORDS.filter(([, words]) => words.some((w) => mentions(folded, w))).map(([label]) => label);
    if (gems.length) {
      facts.gemstones = gems;
      facts.evidence.push(`text names ${gems.join(", ")}`);
    }
  }
  return facts;
}

export interface Contradiction {
  attribute: "category" | "metal" | "gemstone";
  /** The model's label. */
  predicted: string;
  /** What the seller said it is. */
  seller: string[];
}

/**
 * Where a result's labels disagree with the seller's facts. Only attributes the bundle has a head
 * for, with a label that is in the seller's vocabulary, are compared (a bundle without "copper"
 * can't be said to contradict it; a head too thinly validated to trust is not compared).
 */
export function contradictions(facts: SellerFacts, labels: Readonly<Record<string, { label: string; trusted?: boolean }>>): Contradiction[] {
  const out: Contradiction[] = [];
  const head = (name: string) => (labels[name] && labels[name].trusted !== false ? labels[name].label : undefined);
  const category = head("category");
  if (facts.category && category && category !== facts.category) out.push({ attribute: "category", predicted: category, seller: [facts.category] });
  const metal = head("metal");
  if (facts.metals && metal && !facts.metals.includes(metal)) out.push({ attribute: "metal", predicted: metal, seller: facts.metals });
  const gemstone = head("gemstone");
  if (facts.gemstones && gemstone && !facts.gemstones.includes(gemstone)) out.push({ attribute: "gemstone", predicted: gemstone, seller: facts.gemstones });
  return out;
}
