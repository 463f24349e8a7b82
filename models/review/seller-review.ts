import type { ProductDescription } from "../runtime/describer.js";
import { decide } from "../runtime/review-policy.js";
import { contradictions, readSellerFacts, type SellerInput } from "./seller-facts.js";

/**
 * A result checked against what the seller said: where a label the result states contradicts the
 * seller's facts, the result needs review with reason `contradicts_seller` (and says which
 * attribute and what the seller said), however confident it is. A label the result leaves out
 * (too unsure to state) claims nothing, so it contradicts nothing.
 */
export function withSellerFacts(result: ProductDescription, seller: SellerInput): ProductDescription {
  const stated = Object.fromEntries(Object.entries(result.attributes).filter(([, a]) => a.stated));
  const found = contradictions(readSellerFacts(seller), stated);
  if (found.length === 0) return result;
  return { ...result, review: decide([...result.review.reasons, "contradicts_seller"], found) };
}
