import type { Random } from "./random.js";

/** Backgrounds a listing photo is shot on. "transparent" is a cut-out PNG/WebP. */
export const BACKGROUND_KINDS = ["white", "marble", "wood", "fabric", "gradient", "transparent"] as const;
export type BackgroundKind = (typeof BACKGROUND_KINDS)[number];

export const PHOTO_FORMATS = ["jpeg", "png", "webp"] as const;
export type PhotoFormat = (typeof PHOTO_FORMATS)[number];

/** Smallest and largest output side, in pixels. */
export const MIN_PHOTO_SIDE = 160;
export const MAX_PHOTO_SIDE = 2000;

export interface BackgroundSpec {
  kind: BackgroundKind;
  /** Base colour and up to two accents (`#rrggbb`): vein/grain/weave/second gradient colour. */
  colors: [string, string, string];
  /** Direction of grain, weave or gradient, in degrees. */
  angleDeg: number;
  /** Radial rather than linear (gradient backgrounds only). */
  radial: boolean;
}

export interface LightingSpec {
  /** Overall gain, about 0.85..1.12 (1 = as drawn). */
  brightness: number;
  /** Per-channel gain on top of brightness, each within ±5% so metals keep their hue. */
  tint: [number, number, number];
  /** Added to every channel after the gain, about -12..12 (0..255 scale): lifts or crushes blacks. */
  offset: number;
  /** Direction the key light comes from, in degrees; turns the metal's highlights. */
  lightAngleDeg: number;
  /** Strength of a soft vignette / light falloff overlay, 0..0.35. */
  vignette: number;
}

export interface ViewSpec {
  /** In-plane rotation of the piece, in degrees. */
  rotationDeg: number;
  /** The piece's extent as a fraction of the frame's shorter side (mostly 0.45..0.82 of the longer side, capped at 0.92 of the shorter). */
  scale: number;
  /** Centre offset as a fraction of the frame width / height (0 = centred). */
  offsetX: number;
  offsetY: number;
  /** Whether the offset was chosen so the frame cuts part of the piece. */
  cropped: boolean;
  /** How face-on round pieces (rings, bangles, hoops) are seen, 0 (edge-on) .. 1 (face-on). */
  tilt: number;
  /** Mirror the piece left-right. */
  mirror: boolean;
  /** Whether a soft contact shadow is drawn under the piece. */
  shadow: boolean;
}

/** Everything needed to render one photo of a product deterministically. */
export interface PhotoSpec {
  /** Seed for per-photo detail (noise grain, sparkles, background veins). */
  seed: number;
  /** Seed of the product's physical design, shared by all its photos (stone shape, petal count...). */
  designSeed: number;
  width: number;
  height: number;
  format: PhotoFormat;
  /** Encoder quality 1..100 (JPEG 35..95; WebP similar; unused for PNG). */
  quality: number;
  background: BackgroundSpec;
  lighting: LightingSpec;
  view: ViewSpec;
  /** Gaussian blur sigma in output pixels (0 = sharp). */
  blurSigma: number;
  /** Sensor-noise strength, 0..~0.08 of full scale. */
  noise: number;
}

const ASPECTS: ReadonlyArray<readonly [number, number]> = [
  [1, 0.42],
  [4 / 3, 0.14],
  [3 / 4, 0.12],
  [3 / 2, 0.1],
  [2 / 3, 0.08],
  [5 / 4, 0.06],
  [4 / 5, 0.05],
  [16 / 9, 0.03],
];

const PALETTES: Record<Exclude<BackgroundKind, "white" | "transparent">, ReadonlyArray<[string, string, string]>> = {
  // base, vein, second vein
  marble: [
    ["#f2f0ec", "#9a9a9e", "#c8c4be"],
    ["#ecebe8", "#7d8088", "#b8b8bc"],
    ["#e6e2da", "#a89888", "#cfc6b8"],
    ["#2a2a2c", "#d8d8d8", "#6a6a6c"],
    ["#f6f4f0", "#b8a890", "#d6d0c8"],
  ],
  // base, dark grain, light grain
  wood: [
    ["#c8a070", "#8a6038", "#e0c090"],
    ["#6b4a30", "#3e2a1a", "#8a6444"],
    ["#d8cfc0", "#a89c88", "#ece4d8"],
    ["#4a3424", "#2a1c12", "#6a4c34"],
    ["#b08860", "#7a5a3a", "#cca47a"],
  ],
  // base, thread dark, thread light
  fabric: [
    ["#1e1e22", "#0c0c0e", "#34343a"],
    ["#1f2a44", "#121a2e", "#34405c"],
    ["#5a1a28", "#3a0e18", "#742836"],
    ["#d9d0c0", "#bdb2a0", "#ece4d6"],
    ["#8a8a8a", "#707070", "#a0a0a0"],
    ["#efe6d6", "#d6cab4", "#faf4ea"],
    ["#7e8c78", "#62705e", "#98a692"],
    ["#7c8898", "#5e6a7a", "#98a4b4"],
  ],
  // inner, outer, unused
  gradient: [
    ["#ffffff", "#d6d6d6", "#000000"],
    ["#f4efe8", "#cbbfae", "#000000"],
    ["#eef2f6", "#b4bcc8", "#000000"],
    ["#5a5a5e", "#18181a", "#000000"],
    ["#f6f0f0", "#d8c8c8", "#000000"],
    ["#e8ece4", "#b8c0b0", "#000000"],
  ],
};

const WHITES: ReadonlyArray<string> = ["#ffffff", "#ffffff", "#fbfbfb", "#f7f7f5", "#f4f5f7", "#fafaf6"];

/** Plans one photo from the product's photo stream. */
export function planPhoto(rng: Random, designSeed: number): PhotoSpec {
  const format = rng.weighted<PhotoFormat>([
    ["jpeg", 0.8],
    ["png", 0.13],
    ["webp", 0.07],
  ]);
  const quality =
    format === "jpeg" ? rng.int(35, 95) : format === "webp" ? rng.int(50, 92) : 100;

  // Skewed toward small photos so a large catalogue renders quickly, with a tail of big ones.
  const longSide = Math.round(
    rng.weighted<() => number>([
      [() => rng.range(160, 420), 0.6],
      [() => rng.range(420, 800), 0.3],
      [() => rng.range(800, 1400), 0.07],
      [() => rng.range(1400, MAX_PHOTO_SIDE), 0.03],
    ])(),
  );
  const aspect = rng.weighted(ASPECTS); // width / height
  let width: number;
  let height: number;
  if (aspect >= 1) {
    width = longSide;
    height = Math.round(longSide / aspect);
  } else {
    height = longSide;
    width = Math.round(longSide * aspect);
  }
  width = clampSide(width);
  height = clampSide(height);

  const kind = rng.weighted<BackgroundKind>([
    ["white", 0.36],
    ["marble", 0.14],
    ["wood", 0.13],
    ["fabric", 0.14],
    ["gradient", 0.19],
    ["transparent", format === "jpeg" ? 0 : 0.25],
  ]);
  const colors: [string, string, string] =
    kind === "white" || kind === "transparent"
      ? [rng.pick(WHITES), "#000000", "#000000"]
      : rng.pick(PALETTES[kind]);
  const background: BackgroundSpec = {
    kind,
    colors,
    angleDeg: rng.range(0, 180),
    radial: rng.chance(0.5),
  };

  const brightness = rng.clampedNormal(1, 0.06, 0.85, 1.12);
  const tint: [number, number, number] = rng.chance(0.6)
    ? [1, 1, 1]
    : (() => {
        // A warm or cool cast: red and blue move in opposite directions.
        const t = rng.range(-0.045, 0.045);
        return [1 + t, 1 + t * 0.3, 1 - t];
      })();
  const lighting: LightingSpec = {
    brightness,
    tint,
    offset: rng.chance(0.7) ? 0 : rng.range(-12, 12),
    lightAngleDeg: rng.range(0, 360),
    vignette: rng.chance(0.35) ? rng.range(0.05, 0.35) : 0,
  };

  // The model sees the photo padded to a square of the longer side, so size the piece
  // against that side (what survives the padding), within what the shorter side can hold.
  const shorter = Math.min(width, height);
  const longer = Math.max(width, height);
  const fractionOfLonger = rng.weighted<() => number>([
    [() => rng.range(0.45, 0.82), 0.85],
    [() => rng.range(0.32, 0.45), 0.08],
    [() => rng.range(0.82, 0.92), 0.07],
  ])();
  const scale = Math.min(0.92, (fractionOfLonger * longer) / shorter);
  const cropped = rng.chance(0.1);
  // Free margin on each axis, as a fraction of that axis, keeping the piece inside the frame.
  const marginX = Math.max(0, (1 - (scale * shorter) / width) / 2);
  const marginY = Math.max(0, (1 - (scale * shorter) / height) / 2);
  let offsetX = rng.range(-0.8, 0.8) * marginX;
  let offsetY = rng.range(-0.8, 0.8) * marginY;
  if (cropped) {
    // Push the piece past one edge so 8..25% of its extent is cut off; most stays visible.
    const cut = rng.range(0.08, 0.25) * scale * shorter;
    if (rng.chance(0.5)) offsetX = rng.sign() * (marginX + cut / width);
    else offsetY = rng.sign() * (marginY + cut / height);
  }
  const view: ViewSpec = {
    rotationDeg: rng.weighted<() => number>([
      [() => rng.normal(0, 6), 0.6],
      [() => rng.range(-45, 45), 0.3],
      [() => rng.range(0, 360), 0.1],
    ])(),
    scale,
    offsetX,
    offsetY,
    cropped,
    tilt: rng.float(),
    mirror: rng.chance(0.5),
    shadow: kind !== "transparent" && rng.chance(0.6),
  };

  return {
    seed: rng.uint32(),
    designSeed,
    width,
    height,
    format,
    quality,
    background,
    lighting,
    view,
    blurSigma: rng.chance(0.2) ? rng.range(0.4, 1.4) : 0,
    noise: rng.chance(0.5) ? rng.range(0.005, 0.06) : 0,
  };
}

function clampSide(n: number): number {
  return Math.min(MAX_PHOTO_SIDE, Math.max(MIN_PHOTO_SIDE, n));
}
