import { describe, expect, it } from "vitest";
import { SHIFT_MIN_PRODUCTS, SHIFT_Z, shiftBound, shiftVerdict, wilsonLower } from "./run-shift.js";

describe("run-level shift", () => {
  it("bounds the share from below by the Wilson score interval: the L below the share with (share - L)^2 = z^2 L (1 - L) / n", () => {
    for (const [k, n] of [[25, 100], [74, 298], [1, 1000], [40, 40]] as const) {
      const share = k / n;
      const lower = wilsonLower(k, n);
      expect(lower).toBeLessThan(share);
      expect((share - lower) ** 2).toBeCloseTo((SHIFT_Z ** 2 * lower * (1 - lower)) / n, 9);
    }
    expect(wilsonLower(0, 10)).toBe(0);
    expect(wilsonLower(3, 0)).toBe(0);
    expect(wilsonLower(74, 298)).toBeCloseTo(0.1628, 3); // shift.py's test has the same figure
  });

  it("needs the unusual share well above the validation share: three times it, and at least 5 points more", () => {
    expect(shiftBound(0.01)).toBeCloseTo(0.06);
    expect(shiftBound(0.077)).toBeCloseTo(0.231);
    expect(shiftBound(0.5)).toBe(1);
  });

  it("finds the demo bundle on real photos shifted, and a bundle on photos like its own familiar", () => {
    // The demo bundle on the 298 real test photos: 74 unusual, 3.1% of its validation renders.
    expect(shiftVerdict({ products: 298, unusual: 74 }, 0.031)).toBe("shifted");
    // A real-photo bundle on its own test split: 23 of 298 unusual, 7.7% on validation.
    expect(shiftVerdict({ products: 298, unusual: 23 }, 0.077)).toBe("familiar");
    expect(shiftVerdict({ products: SHIFT_MIN_PRODUCTS - 1, unusual: 2 }, 0.03)).toBe("gathering");
    // Strong evidence needs few products; none is no evidence.
    expect(shiftVerdict({ products: 40, unusual: 20 }, 0.03)).toBe("shifted");
    expect(shiftVerdict({ products: 0, unusual: 0 }, 0.03)).toBe("gathering");
  });
});
