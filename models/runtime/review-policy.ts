import type { Manifest } from "./manifest.js";

/**
 * What a result may say and whether it needs a person: the serving policy, applied the same way by
 * the Python evaluation (models/training/facet_train/policy.py), so that evaluated figures are what
 * serving does. A wrong description published with confidence is worse than none.
 *
 * - Probabilities are calibrated by each head's temperature (the manifest's `calibration`).
 * - An attribute is stated in the text only when its head is calibrated, its label is not "none",
 *   and its calibrated confidence reaches the threshold; otherwise the text leaves it out.
 * - A result goes to review when its photos are unlike the training photos (`unfamiliar_photo`) or
 *   a gated attribute with a calibrated head is below the threshold (`low_confidence`), or its text
 *   ran to the decoder's length limit without ending (`text_incomplete`). The pipeline
 *   adds `contradicts_seller` from the catalogue's own facts (seller-facts.ts).
 */
export const REVIEW_REASONS = ["unfamiliar_photo", "low_confidence", "text_incomplete", "contradicts_seller"] as const;
export type ReviewReason = (typeof REVIEW_REASONS)[number];

export interface ReviewDecision {
  decision: "apply" | "needs_review";
  reasons: ReviewReason[];
  /** With contradicts_seller: which attribute disagrees with what the seller said (models/review/seller-facts.ts). */
  contradictions?: Array<{ attribute: string; predicted: string; seller: string[] }>;
}

export interface ReviewSettings {
  /** REVIEW_THRESHOLD: the calibrated confidence an attribute needs to be stated and, if gated, applied. */
  threshold: number;
  /** REVIEW_ATTRIBUTES: attributes whose confidence gates apply. */
  attributes: readonly string[];
}

/** REVIEW_THRESHOLD's and REVIEW_ATTRIBUTES' defaults (shared/config/config.ts, policy.py): see README, "Confidence you can act on". */
export const DEFAULT_REVIEW_THRESHOLD = 0.9;
export const DEFAULT_REVIEW_ATTRIBUTES = ["category"] as const;
export const DEFAULT_REVIEW_SETTINGS: ReviewSettings = { threshold: DEFAULT_REVIEW_THRESHOLD, attributes: DEFAULT_REVIEW_ATTRIBUTES };

const NO_LABEL = "none";

/** Per attribute, its temperature: 1 for a bundle from before calibration, null for a head too thinly validated to trust. */
export function temperatures(manifest: Manifest): Record<string, number | null> {
  const calibrated = manifest.calibration?.attributes;
  return Object.fromEntries(manifest.attributes.map((a) => [a.name, calibrated ? (calibrated[a.name]?.temperature ?? null) : 1]));
}

/** normalise(p^(1/T)): temperature scaling of the log-probabilities, in place of logits the graph does not output. */
export function calibrate(probs: readonly number[], temperature: number): number[] {
  if (temperature === 1) return [...probs];
  const logs = probs.map((p) => Math.log(Math.max(p, 1e-12)) / temperature);
  const max = Math.max(...logs);
  const exps = logs.map((l) => Math.exp(l - max));
  const sum = exps.reduce((a, b) => a + b, 0);
  return exps.map((e) => e / sum);
}

export interface Prediction {
  label: string;
  confidence: number;
  /** False for a head too thinly validated to trust (temperature null). */
  trusted: boolean;
}

/** The labels the text may state (its slot fills). */
export function statedLabels(predictions: Readonly<Record<string, Prediction>>, settings: ReviewSettings): Record<string, string> {
  return Object.fromEntries(
    Object.entries(predictions)
      .filter(([, p]) => p.trusted && p.label !== NO_LABEL && p.confidence >= settings.threshold)
      .map(([name, p]) => [name, p.label]),
  );
}

/** Why a result needs a person, from the model alone (familiarity, confidence, whether its text ended). */
export function modelReviewReasons(
  predictions: Readonly<Record<string, Prediction>>,
  familiarity: number | null,
  familiarityThreshold: number | undefined,
  settings: ReviewSettings,
  textComplete = true,
): ReviewReason[] {
  const reasons: ReviewReason[] = [];
  if (isUnfamiliar(familiarity, familiarityThreshold)) reasons.push("unfamiliar_photo");
  if (settings.attributes.some((name) => predictions[name]?.trusted && (predictions[name]?.confidence ?? 1) < settings.threshold)) reasons.push("low_confidence");
  if (!textComplete) reasons.push("text_incomplete");
  return reasons;
}

/** Whether the photos' familiarity is above the bundle's threshold (never, for a bundle without one). */
export function isUnfamiliar(familiarity: number | null, threshold: number | undefined): boolean {
  return threshold !== undefined && familiarity !== null && familiarity > threshold;
}

export function decide(reasons: readonly ReviewReason[], contradictions?: ReviewDecision["contradictions"]): ReviewDecision {
  const unique = REVIEW_REASONS.filter((r) => reasons.includes(r));
  return { decision: unique.length ? "needs_review" : "apply", reasons: unique, ...(contradictions?.length ? { contradictions } : {}) };
}
