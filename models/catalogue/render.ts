import sharp from "sharp";
import type { ProductAttributes } from "./attributes.js";
import { backgroundSvg } from "./background-svg.js";
import type { PhotoSpec } from "./photo-spec.js";
import { pieceSvg, type Bounds } from "./piece-svg.js";
import { Random } from "./random.js";
import { n } from "./svg-kit.js";

/**
 * The longest side, in pixels, at which a scene is rasterised. Larger photos are
 * rendered at this size and upscaled: librsvg's cost grows with the pixel count,
 * and the model sees 128 px anyway, so big photos only need big-photo bytes
 * (decode cost, JPEG structure), not big-photo detail.
 */
export const MAX_RASTER_SIDE = 480;

/** Side of the square noise tile repeated over the photo. */
const NOISE_TILE = 64;

/** The whole scene (background, shadow, piece, light falloff) as one SVG document. */
export function sceneSvg(spec: PhotoSpec, attributes: ProductAttributes, rasterWidth: number, rasterHeight: number): string {
  const W = spec.width;
  const H = spec.height;
  const v = spec.view;
  const bg = backgroundSvg(spec.background, W, H, spec.seed);
  // The piece's visible mass (its bounds) spans `scale` of the frame's shorter side.
  const scaleFor = (b: Bounds): number => (v.scale * Math.min(W, H)) / Math.max(b.x1 - b.x0, b.y1 - b.y0);
  const cx = W / 2 + v.offsetX * W;
  const cy = H / 2 + v.offsetY * H;
  // Farthest frame corner from the piece's centre, in piece units.
  const reachPx = Math.hypot(W / 2 + Math.abs(cx - W / 2), H / 2 + Math.abs(cy - H / 2));
  const piece = pieceSvg({
    attributes,
    designSeed: spec.designSeed,
    photoSeed: spec.seed,
    tilt: v.tilt,
    lightAngleDeg: spec.lighting.lightAngleDeg,
    frameReach: (b) => reachPx / scaleFor(b),
  });
  const b = piece.bounds;
  const s = scaleFor(b);
  const transform =
    `translate(${n(cx)} ${n(cy)}) rotate(${n(v.rotationDeg)}) scale(${n4(v.mirror ? -s : s)} ${n4(s)}) ` +
    `translate(${n(-(b.x0 + b.x1) / 2)} ${n(-(b.y0 + b.y1) / 2)})`;

  let defs = bg.defs + piece.defs;
  let overlays = "";
  let shadow = "";
  if (v.shadow) {
    const la = (spec.lighting.lightAngleDeg * Math.PI) / 180;
    const r = v.scale * Math.min(W, H) * 0.42;
    defs += `<radialGradient id="shadow"><stop offset="0" stop-color="#000000" stop-opacity="0.13"/><stop offset="1" stop-color="#000000" stop-opacity="0"/></radialGradient>`;
    shadow = `<ellipse cx="${n(cx - Math.cos(la) * r * 0.08)}" cy="${n(cy - Math.sin(la) * r * 0.08)}" rx="${n(r * 1.05)}" ry="${n(r * 0.95)}" fill="url(#shadow)"/>`;
  }
  if (spec.lighting.vignette > 0 && spec.background.kind !== "transparent") {
    defs += `<radialGradient id="vignette" r="0.75"><stop offset="0.55" stop-color="#000000" stop-opacity="0"/><stop offset="1" stop-color="#000000" stop-opacity="${spec.lighting.vignette.toFixed(2)}"/></radialGradient>`;
    overlays += `<rect width="${W}" height="${H}" fill="url(#vignette)"/>`;
  }
  return (
    `<svg xmlns="http://www.w3.org/2000/svg" width="${rasterWidth}" height="${rasterHeight}" viewBox="0 0 ${W} ${H}">` +
    `<defs>${defs}</defs>${bg.body}${shadow}<g transform="${transform}">${piece.body}</g>${overlays}</svg>`
  );
}

/**
 * Renders one photo of a product to encoded image bytes (JPEG, PNG or WebP as the
 * spec says). Deterministic: the same spec and attributes give the same bytes with
 * the same sharp/libvips build.
 */
export async function renderPhoto(spec: PhotoSpec, attributes: ProductAttributes): Promise<Buffer> {
  const W = spec.width;
  const H = spec.height;
  const k = Math.min(1, MAX_RASTER_SIDE / Math.max(W, H));
  const rw = Math.max(1, Math.round(W * k));
  const rh = Math.max(1, Math.round(H * k));
  const transparent = spec.background.kind === "transparent";
  const channels = transparent ? 4 : 3;

  // Stage 1, at raster size: the scene and optional blur.
  let img = sharp(Buffer.from(sceneSvg(spec, attributes, rw, rh)));
  if (!transparent) img = img.flatten({ background: spec.background.colors[0] });
  if (spec.blurSigma >= 0.3) img = img.blur(Math.max(0.3, spec.blurSigma * k));
  const raster = await img.raw().toBuffer();

  // Lighting and sensor noise in one pass over the raster-size pixels: at most
  // 480 px a side, this is cheaper than libvips' float-converting linear and blend ops.
  applyLightingAndNoise(raster, rw, channels, spec);

  // Stage 2: upscale to the photo's size (cheaply: the detail is already there) and encode.
  let out = sharp(raster, { raw: { width: rw, height: rh, channels } });
  if (rw !== W || rh !== H) out = out.resize(W, H, { fit: "fill", kernel: "linear" });
  switch (spec.format) {
    case "jpeg":
      return out.jpeg({ quality: spec.quality }).toBuffer();
    case "png":
      return out.png({ compressionLevel: 4 }).toBuffer();
    case "webp":
      return out.webp({ quality: spec.quality, effort: 2 }).toBuffer();
  }
}

function n4(v: number): string {
  return String(Math.round(v * 1e4) / 1e4);
}

/**
 * Per-channel gain and offset (through lookup tables), then additive grey noise with a
 * little colour from a repeating tile. Alpha, where present, is left alone, and
 * cut-out (transparent) photos get no noise.
 */
function applyLightingAndNoise(pixels: Buffer, width: number, channels: 3 | 4, spec: PhotoSpec): void {
  const { brightness, tint, offset } = spec.lighting;
  const luts = tint.map((t) => {
    const lut = new Uint8Array(256);
    for (let v = 0; v < 256; v++) lut[v] = clampByte(v * t * brightness + offset);
    return lut;
  }) as [Uint8Array, Uint8Array, Uint8Array];
  const [lr, lg, lb] = luts;
  const noise = spec.noise > 0 && channels === 3 ? noiseTile(spec.seed, spec.noise) : undefined;
  const rows = pixels.length / (width * channels);
  for (let y = 0; y < rows; y++) {
    const rowStart = y * width * channels;
    const tileRow = (y % NOISE_TILE) * NOISE_TILE * 3;
    for (let x = 0; x < width; x++) {
      const i = rowStart + x * channels;
      let r = lr[pixels[i] as number] as number;
      let g = lg[pixels[i + 1] as number] as number;
      let b = lb[pixels[i + 2] as number] as number;
      if (noise) {
        const j = tileRow + (x % NOISE_TILE) * 3;
        r += noise[j] as number;
        g += noise[j + 1] as number;
        b += noise[j + 2] as number;
      }
      pixels[i] = r < 0 ? 0 : r > 255 ? 255 : r;
      pixels[i + 1] = g < 0 ? 0 : g > 255 ? 255 : g;
      pixels[i + 2] = b < 0 ? 0 : b > 255 ? 255 : b;
    }
  }
}

function clampByte(v: number): number {
  return Math.max(0, Math.min(255, Math.round(v)));
}

/** Grey sensor noise with a little colour: signed offsets, NOISE_TILE² pixels x RGB. */
function noiseTile(seed: number, amount: number): Int16Array {
  const rng = Random.from(seed, "noise");
  const tile = new Int16Array(NOISE_TILE * NOISE_TILE * 3);
  const sd = amount * 255;
  for (let i = 0; i < tile.length; i += 3) {
    const grey = rng.normal(0, sd);
    for (let c = 0; c < 3; c++) tile[i + c] = Math.round(grey + rng.normal(0, sd * 0.3));
  }
  return tile;
}
