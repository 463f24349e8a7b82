import { describe, expect, it } from "vitest";
import { ATTRIBUTES, STYLES_BY_CATEGORY } from "./attributes.js";
import { planCatalogue, planProduct } from "./catalogue-plan.js";
import { houseStyleDescription } from "./house-style.js";
import { MAX_PHOTO_SIDE, MIN_PHOTO_SIDE, PHOTO_FORMATS } from "./photo-spec.js";

const catalogue = planCatalogue(1, 600);

describe("planProduct", () => {
  it("is a pure function of (seed, index)", () => {
    expect(planProduct(1, 123)).toEqual(planProduct(1, 123));
    // Same product whether it was planned alone or as part of a catalogue.
    expect(catalogue[123]).toEqual(planProduct(1, 123));
    expect(planCatalogue(1, 5)).toEqual(catalogue.slice(0, 5));
  });

  it("differs between seeds and between products", () => {
    const a = planCatalogue(2, 50);
    const b = planCatalogue(3, 50);
    const sameAttributes = a.filter((p, i) => JSON.stringify(p.attributes) === JSON.stringify(b[i]?.attributes)).length;
    expect(sameAttributes).toBeLessThan(10);
    expect(new Set(a.map((p) => p.photos[0]?.seed)).size).toBe(50);
    expect(a[0]?.id).toBe("syn-2-000000");
    expect(b[49]?.id).toBe("syn-3-000049");
  });

  it("rejects invalid arguments", () => {
    expect(() => planProduct(1.5, 0)).toThrow(RangeError);
    expect(() => planProduct(1, -1)).toThrow(RangeError);
  });
});

describe("planned attributes", () => {
  it("cover every label of category, metal, gemstone, finish, setting and style", () => {
    for (const name of ["category", "metal", "gemstone", "finish", "setting", "style"] as const) {
      const seen = new Set(catalogue.map((p) => p.attributes[name]));
      expect([...seen].sort(), name).toEqual([...ATTRIBUTES[name]].sort());
    }
  });

  it("are reasonably balanced", () => {
    const share = (f: (p: (typeof catalogue)[number]) => boolean): number => catalogue.filter(f).length / catalogue.length;
    for (const c of ATTRIBUTES.category) expect(share((p) => p.attributes.category === c), c).toBeGreaterThan(0.1);
    for (const m of ATTRIBUTES.metal) expect(share((p) => p.attributes.metal === m), m).toBeGreaterThan(0.13);
    const none = share((p) => p.attributes.gemstone === "none");
    expect(none).toBeGreaterThan(0.18);
    expect(none).toBeLessThan(0.32);
    for (const g of ATTRIBUTES.gemstone) expect(share((p) => p.attributes.gemstone === g), g).toBeGreaterThan(0.07);
  });

  it("have a setting exactly when they have a stone, and a style their category allows", () => {
    for (const p of catalogue) {
      const a = p.attributes;
      expect(a.setting === "none", p.id).toBe(a.gemstone === "none");
      expect(STYLES_BY_CATEGORY[a.category], p.id).toContain(a.style);
    }
  });
});

describe("planned photos", () => {
  const photos = catalogue.flatMap((p) => p.photos);

  it("number 1 to 3 per product, sharing the product's design", () => {
    for (const p of catalogue) {
      expect(p.photos.length).toBeGreaterThanOrEqual(1);
      expect(p.photos.length).toBeLessThanOrEqual(3);
      expect(new Set(p.photos.map((ph) => ph.designSeed)).size).toBe(1);
      expect(new Set(p.photos.map((ph) => ph.seed)).size).toBe(p.photos.length);
    }
    expect(new Set(catalogue.map((p) => p.photos.length)).size).toBe(3);
  });

  it("have sizes within bounds, mostly small, some large, in varied aspect ratios", () => {
    for (const ph of photos) {
      for (const side of [ph.width, ph.height]) {
        expect(Number.isInteger(side)).toBe(true);
        expect(side).toBeGreaterThanOrEqual(MIN_PHOTO_SIDE);
        expect(side).toBeLessThanOrEqual(MAX_PHOTO_SIDE);
      }
    }
    const longSide = photos.map((ph) => Math.max(ph.width, ph.height));
    expect(longSide.filter((s) => s <= 420).length / photos.length).toBeGreaterThan(0.45);
    expect(longSide.filter((s) => s >= 1400).length).toBeGreaterThan(0);
    expect(photos.filter((ph) => ph.width > ph.height).length).toBeGreaterThan(0);
    expect(photos.filter((ph) => ph.width < ph.height).length).toBeGreaterThan(0);
  });

  it("use every format and background, mostly JPEG, with qualities in range", () => {
    expect(new Set(photos.map((ph) => ph.format))).toEqual(new Set(PHOTO_FORMATS));
    expect(photos.filter((ph) => ph.format === "jpeg").length / photos.length).toBeGreaterThan(0.6);
    for (const ph of photos) {
      if (ph.format === "jpeg") {
        expect(ph.quality).toBeGreaterThanOrEqual(35);
        expect(ph.quality).toBeLessThanOrEqual(95);
      }
      // A JPEG cannot be a cut-out.
      if (ph.background.kind === "transparent") expect(ph.format).not.toBe("jpeg");
    }
    expect(new Set(photos.map((ph) => ph.background.kind)).size).toBe(6);
  });

  it("frame the piece large enough to see, cropping only some", () => {
    for (const ph of photos) {
      const visibleShare = (ph.view.scale * Math.min(ph.width, ph.height)) / Math.max(ph.width, ph.height);
      expect(visibleShare).toBeGreaterThan(0.25);
      expect(ph.view.scale).toBeLessThanOrEqual(0.92);
      expect(Math.abs(ph.lighting.tint[0] - 1)).toBeLessThanOrEqual(0.05);
      expect(Math.abs(ph.lighting.tint[2] - 1)).toBeLessThanOrEqual(0.05);
    }
    const cropped = photos.filter((ph) => ph.view.cropped).length / photos.length;
    expect(cropped).toBeGreaterThan(0.03);
    expect(cropped).toBeLessThan(0.2);
  });
});

describe("descriptions", () => {
  it("give the house-style sentence as the reference", () => {
    for (const p of catalogue.slice(0, 50)) expect(p.referenceDescription).toBe(houseStyleDescription(p.attributes));
  });

  it("give artisan text that differs from the reference and varies between products", () => {
    const texts = catalogue.map((p) => p.artisanDescription);
    for (const p of catalogue) {
      expect(p.artisanDescription.length).toBeGreaterThan(0);
      expect(p.artisanDescription).not.toBe(p.referenceDescription);
    }
    expect(new Set(texts).size).toBeGreaterThan(580);
    // Messy on purpose: some say nothing of the metal, some shout, some use other words.
    const lower = texts.map((t) => t.toLowerCase());
    expect(lower.some((t) => /rosegold|pink gold|925|sterling|18k/.test(t))).toBe(true);
    expect(texts.some((t) => t === t.toUpperCase() && /[A-Z]/.test(t))).toBe(true);
    expect(texts.some((t) => /[\u{1F300}-\u{1FAFF}\u2728\u2764]/u.test(t))).toBe(true);
    const statesMetal = catalogue.filter((p) => p.artisanDescription.toLowerCase().includes(p.attributes.metal.split(" ")[0] ?? "")).length;
    expect(statesMetal / catalogue.length).toBeGreaterThan(0.4);
    expect(statesMetal / catalogue.length).toBeLessThan(0.98);
  });
});
