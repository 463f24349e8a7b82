import { getRun, type LedgerContext } from "../shared/ledger/run-ledger.js";
import { versionPairs, type VersionPair } from "../shared/ledger/version-pairs.js";
import { readSellerFacts } from "../models/review/seller-facts.js";

/** The attributes whose changes a catalogue team reviews before applying a new model. */
export const COMPARED_ATTRIBUTES = ["category", "metal", "gemstone"] as const;
type Compared = (typeof COMPARED_ATTRIBUTES)[number];

export interface AttributeChanges {
  /** Products where both sides say something about the attribute. */
  compared: number;
  changed: number;
  /** "before → after" and how often, most frequent first. */
  transitions: Array<{ from: string; to: string; products: number }>;
  examples: Array<{ productId: string; from: string; to: string; confidence: number; before: string | null; after: string }>;
}

export interface RunComparison {
  runA: string;
  /** The other run, or "current" (what each product has now). */
  against: string;
  products: number;
  /** Products with nothing to compare against (not in the other run; gone from the catalogue). */
  unmatched: number;
  attributes: Record<Compared, AttributeChanges>;
}

/**
 * `facet run compare RUN_A [RUN_B]`: how many products change category, metal or gemstone between a
 * shadow run and another run, or between it and what the catalogue shows now (Facet's applied
 * version where there is one, else the seller's own words, read as in the review gate), with examples.
 */
export async function compareRuns(ctx: LedgerContext, runA: string, runB: string | null, options: { examples?: number } = {}): Promise<RunComparison> {
  await getRun(ctx, runA);
  if (runB !== null) await getRun(ctx, runB);
  const examples = options.examples ?? 5;
  const attributes = Object.fromEntries(COMPARED_ATTRIBUTES.map((a) => [a, { compared: 0, changed: 0, transitions: [], examples: [] } as AttributeChanges])) as Record<Compared, AttributeChanges>;
  const transitions = new Map<string, number>();
  let products = 0;
  let unmatched = 0;
  for await (const pair of versionPairs(ctx, runA, runB)) {
    products++;
    const before = beforeLabels(pair);
    if (!before) {
      unmatched++;
      continue;
    }
    for (const name of COMPARED_ATTRIBUTES) {
      const after = pair.attributes[name];
      const was = before.labels[name];
      if (!after || !was) continue;
      const changes = attributes[name];
      changes.compared++;
      if (was.includes(after.label)) continue;
      changes.changed++;
      const from = was.join(" or ");
      const key = `${name}\u0000${from}\u0000${after.label}`;
      transitions.set(key, (transitions.get(key) ?? 0) + 1);
      if (changes.examples.length < examples) {
        changes.examples.push({ productId: pair.productId, from, to: after.label, confidence: after.confidence, before: before.text, after: pair.description });
      }
    }
  }
  for (const [key, count] of [...transitions].sort((a, b) => b[1] - a[1])) {
    const [name, from, to] = key.split("\u0000") as [Compared, string, string];
    attributes[name].transitions.push({ from, to, products: count });
  }
  return { runA, against: runB ?? "current", products, unmatched, attributes };
}

/** What the product said before: the other version's labels, or the seller's facts from the catalogue. */
function beforeLabels(pair: VersionPair): { labels: Partial<Record<Compared, string[]>>; text: string | null } | null {
  if (pair.other) {
    const labels: Partial<Record<Compared, string[]>> = {};
    for (const name of COMPARED_ATTRIBUTES) {
      const label = pair.other.attributes[name]?.label;
      if (label) labels[name] = [label];
    }
    return { labels, text: pair.other.description };
  }
  if (!pair.catalogue) return null;
  const facts = readSellerFacts({ texts: [pair.catalogue.description], fields: { category: pair.catalogue.category } });
  return {
    labels: { ...(facts.category ? { category: [facts.category] } : {}), ...(facts.metals ? { metal: facts.metals } : {}), ...(facts.gemstones ? { gemstone: facts.gemstones } : {}) },
    text: pair.catalogue.description,
  };
}
