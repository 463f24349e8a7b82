import type { Manifest } from "./manifest.js";
import { decide, isUnfamiliar, type Prediction, type ReviewDecision } from "./review-policy.js";

/**
 * Run-level shift: whether a run's photos, taken together, are unlike the bundle's training
 * photos. The same rules as models/training/facet_train/shift.py (see there for why).
 *
 * Each product gives one *unusual* signal, fixed by the bundle: its calibrated confidence in the
 * manifest's `shift.attribute` below `shift.confidence_below`, or its photos unfamiliar. A run is
 * *shifted* when the Wilson lower bound (z = SHIFT_Z) of its unusual share is above
 * max(SHIFT_FACTOR × the validation share, the validation share + SHIFT_MARGIN): then every
 * product of it goes to review as `unfamiliar_photo`. An apply run holds its first
 * SHIFT_MIN_PRODUCTS results (applies none of them) until it has shown which it is.
 */
export const SHIFT_MIN_PRODUCTS = 200;
export const SHIFT_Z = 4;
export const SHIFT_FACTOR = 3;
export const SHIFT_MARGIN = 0.05;

export type ShiftVerdict = "shifted" | "familiar" | "gathering";

/** What a run's results say so far: products with a signal, and how many of them were unusual. */
export interface ShiftCounts {
  products: number;
  unusual: number;
}

export function wilsonLower(unusual: number, products: number, z = SHIFT_Z): number {
  if (products <= 0) return 0;
  const p = unusual / products;
  const z2 = z * z;
  const centre = p + z2 / (2 * products);
  const spread = z * Math.sqrt((p * (1 - p)) / products + z2 / (4 * products * products));
  return Math.max(0, (centre - spread) / (1 + z2 / products));
}

/** The unusual share a run must exceed, with confidence, to be shifted. */
export function shiftBound(baseline: number): number {
  return Math.min(1, Math.max(SHIFT_FACTOR * baseline, baseline + SHIFT_MARGIN));
}

/** `shifted`; `familiar` (enough products, not shifted); `gathering` (too few to release held results). */
export function shiftVerdict(counts: ShiftCounts, baseline: number): ShiftVerdict {
  if (wilsonLower(counts.unusual, counts.products) > shiftBound(baseline)) return "shifted";
  return counts.products >= SHIFT_MIN_PRODUCTS ? "familiar" : "gathering";
}

/** One product's signal, with the baseline its run is measured against. */
export interface ShiftSignal {
  unusual: boolean;
  /** The bundle's validation share of unusual products (manifest `shift.validation_share`). */
  baseline: number;
}

/** The product's unusual signal, or null when the bundle has no shift baseline. */
export function shiftSignal(manifest: Manifest, predictions: Readonly<Record<string, Prediction>>, familiarity: number | null): ShiftSignal | null {
  const shift = manifest.shift;
  if (!shift) return null;
  const p = predictions[shift.attribute];
  const unusual = isUnfamiliar(familiarity, manifest.familiarity?.threshold) || Boolean(p?.trusted && p.confidence < shift.confidence_below);
  return { unusual, baseline: shift.validation_share };
}

/** One run's gate in memory (`facet describe`): the same counts and verdict as the ledger's. */
export class ShiftTally {
  private readonly counts: ShiftCounts = { products: 0, unusual: 0 };
  private baseline: number | null = null;

  add(signal: ShiftSignal | null | undefined): void {
    if (!signal) return;
    this.counts.products++;
    if (signal.unusual) this.counts.unusual++;
    this.baseline ??= signal.baseline;
  }

  /** Null: no product carried a signal (the bundle has no shift baseline). */
  get verdict(): ShiftVerdict | null {
    return this.baseline === null ? null : shiftVerdict(this.counts, this.baseline);
  }

  /** One line on where the run stands, or null without a baseline. */
  describe(): string | null {
    return this.baseline === null ? null : describeShift(this.counts, this.baseline);
  }
}

/** One line on where a run stands against its bundle's baseline. */
export function describeShift(counts: ShiftCounts, baseline: number): string {
  const { products, unusual } = counts;
  const pct = (x: number) => `${(x * 100).toFixed(1)}%`;
  const verdict = shiftVerdict(counts, baseline);
  return (
    `run shift: ${unusual} of ${products} products unusual (${products ? pct(unusual / products) : "-"}; validation ${pct(baseline)}, shifted above ${pct(shiftBound(baseline))}): ` +
    (verdict === "shifted"
      ? "shifted - the photos as a whole are unlike the bundle's training photos, so every product goes to review"
      : verdict === "gathering"
        ? "too few products to tell yet"
        : "familiar")
  );
}

/** The result of a product in a shifted run: sent to review as unfamiliar_photo. */
export function withRunShift<T extends { review: ReviewDecision }>(result: T): T {
  return { ...result, review: decide([...result.review.reasons, "unfamiliar_photo"], result.review.contradictions) };
}
