import sharp, { type Metadata } from "sharp";
import { PHOTO_REASONS, PhotoError } from "./photo-error.js";

export { PHOTO_REASONS, PhotoError, type PhotoReason } from "./photo-error.js";
export { normalise } from "./normalise.js";

/** Raster formats a marketplace photo may come in. SVG (scriptable, unbounded) and PDF are refused. */
export const ACCEPTED_FORMATS: ReadonlySet<string> = new Set(["jpeg", "png", "webp", "gif", "tiff", "avif", "heif"]);

export interface PreprocessOptions {
  /** Side of the square model input, in pixels (the manifest's `image_size`). */
  imageSize: number;
  /** RGB the photo is flattened onto and padded with (the manifest's `background`). */
  background: readonly [number, number, number];
  /**
   * Largest photo accepted, in pixels (width × height) as claimed by its header, checked
   * before decoding so a decompression bomb never allocates. Default 50 megapixels: above
   * any real product photo, below what would exhaust a worker's memory.
   */
  maxInputPixels?: number;
}

export const DEFAULT_MAX_INPUT_PIXELS = 50_000_000;

/** A photo preprocessed for the model: `size × size × 3` RGB bytes, row-major (HWC). */
export interface PreprocessedPhoto {
  pixels: Uint8Array;
  size: number;
  /** The photo's format: from its magic bytes, or libvips' reading of its header. */
  format: string;
}

/**
 * Turn encoded photo bytes into the model's input pixels, exactly as training saw them:
 * EXIF orientation applied, converted to sRGB, alpha flattened onto the background, padded
 * to a square (centred) and resized. Training datasets are written by this same function.
 *
 * A photo whose magic bytes name an accepted format is decoded at once, in one libvips call
 * (its pixel limit is checked from the header before anything is decoded); the header is read
 * on its own only to say why a decode failed, or for bytes no magic number names. Reading it
 * first for every photo cost the calling thread 0.42–0.53 ms of CPU per photo where this costs
 * 0.34–0.44 (three rounds of 1,500 480×480 JPEGs, 4 at a time), on the path every product takes.
 *
 * Throws PhotoError (permanent) for empty, unsupported, corrupt, truncated or oversized input.
 */
export async function preprocessPhoto(input: Uint8Array, options: PreprocessOptions): Promise<PreprocessedPhoto> {
  const maxPixels = options.maxInputPixels ?? DEFAULT_MAX_INPUT_PIXELS;
  if (input.byteLength === 0) throw new PhotoError(PHOTO_REASONS.empty, "photo is empty (0 bytes)");
  const sniffed = sniffFormat(input);
  // Bytes no magic number names: libvips' reading of the header says what they are, first.
  const format = sniffed ?? (await readHeader(input, maxPixels, sniffed)).format;
  try {
    return { pixels: await decode(input, options, maxPixels), size: options.imageSize, format };
  } catch (cause) {
    // The header says why, if it can (too large, not an accepted format, damaged); else the decode's failure does.
    throw decodeFailure(sniffed ? (await readHeader(input, maxPixels, sniffed)).format : format, input, cause);
  }
}

/**
 * The photo's header, read without decoding (so an oversized claim costs nothing): its format,
 * which must be accepted, and a size within `maxPixels`. Throws PhotoError otherwise (`sniffed`,
 * the format its magic bytes name, tells a damaged header from bytes that are no image).
 */
async function readHeader(input: Uint8Array, maxPixels: number, sniffed: string | undefined): Promise<{ format: string }> {
  let meta: Metadata;
  try {
    meta = await sharp(input, { limitInputPixels: false }).metadata();
  } catch (cause) {
    if (sniffed && endsWhole(sniffed, input) === false) throw new PhotoError(PHOTO_REASONS.truncated, `${sniffed} photo is cut short (${firstLine(cause)})`, { cause });
    if (sniffed) throw new PhotoError(PHOTO_REASONS.corrupt, `${sniffed} header is damaged (${firstLine(cause)})`, { cause });
    throw new PhotoError(PHOTO_REASONS.unsupported, `not a readable image (${firstLine(cause)})`, { cause });
  }
  const format = meta.format ?? "unknown";
  if (!ACCEPTED_FORMATS.has(format)) {
    throw new PhotoError(
      PHOTO_REASONS.unsupported,
      `format '${format}' is not accepted (accepted: ${[...ACCEPTED_FORMATS].join(", ")})`,
    );
  }
  const width = meta.width ?? 0;
  const height = meta.height ?? 0;
  if (width <= 0 || height <= 0) throw new PhotoError(PHOTO_REASONS.corrupt, `header has no valid size (${width}×${height})`);
  if (width * height > maxPixels) {
    throw new PhotoError(
      PHOTO_REASONS.tooLarge,
      `header claims ${width}×${height} = ${width * height} pixels, over the limit of ${maxPixels}`,
    );
  }
  return { format };
}

/** Decode, orient, flatten, pad and resize: `imageSize² × 3` RGB bytes. Throws libvips' error as is. */
async function decode(input: Uint8Array, options: PreprocessOptions, maxPixels: number): Promise<Uint8Array> {
  const [r, g, b] = options.background;
  const background = { r, g, b, alpha: 1 };
  const { data, info } = await sharp(input, { failOn: "truncated", limitInputPixels: maxPixels, pages: 1 })
    .rotate()
    .toColourspace("srgb")
    .flatten({ background })
    .resize(options.imageSize, options.imageSize, { fit: "contain", background, kernel: "lanczos3" })
    .removeAlpha()
    .raw()
    .toBuffer({ resolveWithObject: true });
  if (info.channels !== 3 || info.width !== options.imageSize || info.height !== options.imageSize) {
    throw new Error(`unexpected decoded shape ${info.width}×${info.height}×${info.channels}`);
  }
  return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}

/** A decode's failure as the photo's PhotoError: truncated or corrupt. */
function decodeFailure(format: string, input: Uint8Array, cause: unknown): PhotoError {
  const text = firstLine(cause);
  // From the bytes where the format says how a whole file ends: libvips' messages vary with the
  // decode's timing ("premature end" or "Unknown error" for the same file), its bytes do not.
  const whole = endsWhole(format, input);
  const truncated = whole === undefined ? /premature end|truncated|unexpected end|short read|not enough data/i.test(text) : !whole;
  return new PhotoError(truncated ? PHOTO_REASONS.truncated : PHOTO_REASONS.corrupt, `${format} photo could not be decoded (${text})`, { cause });
}

/**
 * Whether the bytes end the way a whole file of `format` ends (undefined: the format gives no such
 * sign). JPEG: its end-of-image marker FF D9 (trailing padding allowed); PNG: the IEND chunk;
 * WebP: as many bytes as its RIFF header says; GIF: the trailer byte 3B.
 */
export function endsWhole(format: string, b: Uint8Array): boolean | undefined {
  let end = b.length;
  switch (format) {
    case "jpeg":
      while (end > 2 && (b[end - 1] === 0x00 || b[end - 1] === 0x0a || b[end - 1] === 0x0d || b[end - 1] === 0x20)) end--;
      return b[end - 2] === 0xff && b[end - 1] === 0xd9;
    case "png":
      return end >= 12 && String.fromCharCode(...b.subarray(end - 8, end - 4)) === "IEND";
    case "webp":
      return end >= 12 && new DataView(b.buffer, b.byteOffset, b.byteLength).getUint32(4, true) + 8 <= end;
    case "gif":
      return b[end - 1] === 0x3b;
    default:
      return undefined;
  }
}

/** The raster format named by the file's magic bytes, if it is one we accept. */
export function sniffFormat(b: Uint8Array): string | undefined {
  const ascii = (from: number, to: number) => String.fromCharCode(...b.subarray(from, to));
  if (b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff) return "jpeg";
  if (b[0] === 0x89 && ascii(1, 4) === "PNG") return "png";
  if (ascii(0, 4) === "GIF8") return "gif";
  if (ascii(0, 4) === "RIFF" && ascii(8, 12) === "WEBP") return "webp";
  if (ascii(0, 4) === "II*\0" || ascii(0, 4) === "MM\0*") return "tiff";
  if (ascii(4, 8) === "ftyp") return "heif";
  return undefined;
}

function firstLine(error: unknown): string {
  const text = error instanceof Error ? error.message : String(error);
  return text.split("\n")[0]?.trim() || "unknown error";
}
