import { describe, expect, it } from "vitest";
import { calibrate, decide, modelReviewReasons, statedLabels, type Prediction } from "./review-policy.js";

const settings = { threshold: 0.9, attributes: ["category", "metal", "gemstone"] };
const p = (label: string, confidence: number, trusted = true): Prediction => ({ label, confidence, trusted });

describe("review policy", () => {
  it("calibrates by temperature: T > 1 softens, T = 1 leaves the probabilities", () => {
    expect(calibrate([0.9, 0.1], 1)).toEqual([0.9, 0.1]);
    const soft = calibrate([0.9, 0.1], 2);
    expect(soft[0]).toBeCloseTo(0.75, 5); // 0.9^0.5 / (0.9^0.5 + 0.1^0.5)
    expect(soft[0]! + soft[1]!).toBeCloseTo(1, 10);
  });

  it("states only trusted labels at the threshold, never 'none'", () => {
    const predictions = { category: p("ring", 0.95), metal: p("copper", 0.6), gemstone: p("none", 0.99), style: p("bar", 0.97, false) };
    expect(statedLabels(predictions, settings)).toEqual({ category: "ring" });
  });

  it("sends unfamiliar photos and unsure gated attributes to review, not untrusted heads", () => {
    const sure = { category: p("ring", 0.95), metal: p("copper", 0.92), gemstone: p("ruby", 0.3, false) };
    expect(modelReviewReasons(sure, 1.0, 2.0, settings)).toEqual([]);
    expect(modelReviewReasons(sure, 2.5, 2.0, settings)).toEqual(["unfamiliar_photo"]);
    expect(modelReviewReasons({ ...sure, metal: p("copper", 0.5) }, null, 2.0, settings)).toEqual(["low_confidence"]);
    expect(decide(["low_confidence", "unfamiliar_photo"])).toEqual({ decision: "needs_review", reasons: ["unfamiliar_photo", "low_confidence"] });
    expect(decide([])).toEqual({ decision: "apply", reasons: [] });
  });
});
