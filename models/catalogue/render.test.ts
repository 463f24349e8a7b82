import sharp from "sharp";
import { describe, expect, it } from "vitest";
import { ATTRIBUTES, type Metal, type ProductAttributes } from "./attributes.js";
import { planProduct } from "./catalogue-plan.js";
import type { PhotoSpec } from "./photo-spec.js";
import { renderPhoto } from "./render.js";

/** A plain, centred, noise-free cut-out shot: what is left is the piece itself. */
function cutout(overrides: Partial<PhotoSpec> = {}): PhotoSpec {
  return {
    seed: 1,
    designSeed: 2,
    width: 240,
    height: 240,
    format: "png",
    quality: 100,
    background: { kind: "transparent", colors: ["#ffffff", "#000000", "#000000"], angleDeg: 0, radial: false },
    lighting: { brightness: 1, tint: [1, 1, 1], offset: 0, lightAngleDeg: 225, vignette: 0 },
    view: { rotationDeg: 0, scale: 0.8, offsetX: 0, offsetY: 0, cropped: false, tilt: 0.5, mirror: false, shadow: false },
    blurSigma: 0,
    noise: 0,
    ...overrides,
  };
}

const PLAIN_RING: ProductAttributes = {
  category: "ring",
  metal: "yellow gold",
  gemstone: "none",
  finish: "polished",
  setting: "none",
  style: "wide band",
};

interface Coverage {
  /** Share of pixels the piece covers. */
  share: number;
  /** Width and height of the covered area, as shares of the frame. */
  spanX: number;
  spanY: number;
  /** Mean colour of covered pixels. */
  mean: [number, number, number];
}

async function coverage(png: Buffer): Promise<Coverage> {
  const { data, info } = await sharp(png).ensureAlpha().raw().toBuffer({ resolveWithObject: true });
  let count = 0;
  let x0 = info.width;
  let x1 = -1;
  let y0 = info.height;
  let y1 = -1;
  const sum = [0, 0, 0];
  for (let y = 0; y < info.height; y++) {
    for (let x = 0; x < info.width; x++) {
      const i = (y * info.width + x) * 4;
      if ((data[i + 3] as number) < 200) continue;
      count++;
      for (let c = 0; c < 3; c++) sum[c] = (sum[c] as number) + (data[i + c] as number);
      x0 = Math.min(x0, x);
      x1 = Math.max(x1, x);
      y0 = Math.min(y0, y);
      y1 = Math.max(y1, y);
    }
  }
  return {
    share: count / (info.width * info.height),
    spanX: (x1 - x0 + 1) / info.width,
    spanY: (y1 - y0 + 1) / info.height,
    mean: sum.map((s) => s / Math.max(1, count)) as [number, number, number],
  };
}

describe("renderPhoto", () => {
  it("renders the same bytes for the same spec", async () => {
    const p = planProduct(4, 17);
    for (const photo of p.photos) {
      const a = await renderPhoto(photo, p.attributes);
      const b = await renderPhoto(structuredClone(photo), { ...p.attributes });
      expect(a.equals(b)).toBe(true);
    }
  });

  it("renders different photos for different products and seeds", async () => {
    const a = planProduct(4, 3);
    const b = planProduct(5, 3);
    const photoA = a.photos[0] as PhotoSpec;
    const bytesA = await renderPhoto(photoA, a.attributes);
    expect(bytesA.equals(await renderPhoto(b.photos[0] as PhotoSpec, b.attributes))).toBe(false);
    expect(bytesA.equals(await renderPhoto({ ...photoA, seed: photoA.seed + 1 }, a.attributes))).toBe(false);
  });

  it("encodes decodable photos of the planned size and format", async () => {
    const formats = new Set<string>();
    for (let i = 0; i < 24; i++) {
      const p = planProduct(6, i);
      for (const photo of p.photos) {
        const bytes = await renderPhoto(photo, p.attributes);
        const meta = await sharp(bytes).metadata();
        expect(meta.format).toBe(photo.format);
        expect(meta.width).toBe(photo.width);
        expect(meta.height).toBe(photo.height);
        const stats = await sharp(bytes).stats();
        // Not a blank frame: the piece and background give real contrast.
        expect(Math.max(...stats.channels.slice(0, 3).map((c) => c.max - c.min)), p.id).toBeGreaterThan(60);
        formats.add(photo.format);
      }
    }
    expect(formats.has("jpeg")).toBe(true);
  });

  it("renders a large photo at its full size", async () => {
    const p = planProduct(6, 0);
    const photo: PhotoSpec = { ...(p.photos[0] as PhotoSpec), width: 2000, height: 1500, format: "jpeg", quality: 80 };
    const meta = await sharp(await renderPhoto(photo, p.attributes)).metadata();
    expect([meta.width, meta.height]).toEqual([2000, 1500]);
  });

  it("frames every category so the piece fills much of the frame", async () => {
    for (const category of ATTRIBUTES.category) {
      for (let i = 0; i < 40; i++) {
        const p = planProduct(8, i);
        if (p.attributes.category !== category) continue;
        const c = await coverage(await renderPhoto(cutout({ designSeed: i }), p.attributes));
        expect(Math.max(c.spanX, c.spanY), `${p.id} ${category}`).toBeGreaterThan(0.6);
        expect(c.share, `${p.id} ${category}`).toBeGreaterThan(0.04);
        break;
      }
    }
  });

  it("keeps the metals apart in colour", async () => {
    const mean: Partial<Record<Metal, [number, number, number]>> = {};
    for (const metal of ATTRIBUTES.metal) {
      mean[metal] = (await coverage(await renderPhoto(cutout(), { ...PLAIN_RING, metal }))).mean;
    }
    const [, yg, yb] = mean["yellow gold"] as [number, number, number];
    const [wr, wg, wb] = mean["white gold"] as [number, number, number];
    const [sr, sg, sb] = mean["sterling silver"] as [number, number, number];
    const [rr, rg, rb] = mean["rose gold"] as [number, number, number];
    const [cr, cg, cb] = mean.copper as [number, number, number];
    const luma = (r: number, g: number, b: number): number => 0.299 * r + 0.587 * g + 0.114 * b;
    // White gold is bright and neutral; sterling silver clearly darker.
    expect(luma(wr, wg, wb) - luma(sr, sg, sb)).toBeGreaterThan(50);
    expect(Math.max(wr, wg, wb) - Math.min(wr, wg, wb)).toBeLessThan(25);
    // Yellow gold is the yellow one.
    expect(yg - yb).toBeGreaterThan(80);
    // Rose gold is pink (blue kept), copper a darker orange-brown.
    expect(rb - cb).toBeGreaterThan(50);
    expect(luma(rr, rg, rb) - luma(cr, cg, cb)).toBeGreaterThan(40);
    expect(rr - rb).toBeGreaterThan(40);
  });
});
