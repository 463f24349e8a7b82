import { createHash } from "node:crypto";

/**
 * What identifies a photo for data cleaning: the sha256 of its encoded bytes (the same file), and a
 * perceptual hash of its preprocessed pixels (the same picture re-encoded, resized or slightly
 * cropped). Duplicates must never straddle the train/validation/test splits, or the test split
 * measures memory instead of the model.
 */
export interface PhotoFingerprint {
  sha256: string;
  /** 64-bit perceptual hash as two 32-bit halves. */
  phash: [number, number];
}

const HASH_SIDE = 32; // the DCT's input side
const LOW = 8; // the low-frequency block kept
// A pixel differing from the padding background by more than this (0-255, any channel) is the object.
const BACKGROUND_TOLERANCE = 20;

export function fingerprint(encoded: Uint8Array, pixels: Uint8Array, size: number, background: readonly [number, number, number]): PhotoFingerprint {
  return { sha256: createHash("sha256").update(encoded).digest("hex"), phash: perceptualHash(pixels, size, background) };
}

/**
 * DCT perceptual hash (pHash) of an RGB photo `size × size × 3`, on the object's bounding box: the
 * padding preprocessing adds (and the white studio background most product photos have) would
 * otherwise dominate a small ring, and two different rings would hash alike. Grey levels of the
 * box are averaged down to 32×32, transformed by a 2-D DCT-II, and the 63 lowest frequencies but
 * the constant one become bits: above their median or not.
 */
export function perceptualHash(pixels: Uint8Array, size: number, background: readonly [number, number, number]): [number, number] {
  const box = objectBox(pixels, size, background);
  const grey = boxAverage(pixels, size, box, HASH_SIDE);
  const coefficients = lowFrequencies(grey, HASH_SIDE, LOW).slice(1); // drop the constant term
  const median = [...coefficients].sort((a, b) => a - b)[Math.floor(coefficients.length / 2)] as number;
  let hi = 0;
  let lo = 0;
  coefficients.forEach((c, i) => {
    if (c <= median) return;
    if (i < 32) hi |= 1 << i;
    else lo |= 1 << (i - 32);
  });
  return [hi >>> 0, lo >>> 0];
}

/** Bits that differ between two perceptual hashes (0-64). */
export function hammingDistance(a: readonly [number, number], b: readonly [number, number]): number {
  return popcount((a[0] ^ b[0]) >>> 0) + popcount((a[1] ^ b[1]) >>> 0);
}

function popcount(x: number): number {
  let v = x - ((x >>> 1) & 0x55555555);
  v = (v & 0x33333333) + ((v >>> 2) & 0x33333333);
  return (((v + (v >>> 4)) & 0x0f0f0f0f) * 0x01010101) >>> 24;
}

interface Box {
  top: number;
  left: number;
  bottom: number; // exclusive
  right: number; // exclusive
}

/** The bounding box of the pixels that are not background; the whole photo when there are too few. */
function objectBox(pixels: Uint8Array, size: number, background: readonly [number, number, number]): Box {
  let top = size;
  let left = size;
  let bottom = 0;
  let right = 0;
  let count = 0;
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      const i = (y * size + x) * 3;
      const differs =
        Math.abs((pixels[i] as number) - background[0]) > BACKGROUND_TOLERANCE ||
        Math.abs((pixels[i + 1] as number) - background[1]) > BACKGROUND_TOLERANCE ||
        Math.abs((pixels[i + 2] as number) - background[2]) > BACKGROUND_TOLERANCE;
      if (!differs) continue;
      count++;
      if (y < top) top = y;
      if (y >= bottom) bottom = y + 1;
      if (x < left) left = x;
      if (x >= right) right = x + 1;
    }
  }
  return count >= 16 ? { top, left, bottom, right } : { top: 0, left: 0, bottom: size, right: size };
}

/** Mean grey level of `box` resampled to `side × side` by area averaging (each output cell averages the pixels whose centres fall in it). */
function boxAverage(pixels: Uint8Array, size: number, box: Box, side: number): Float64Array {
  const sums = new Float64Array(side * side);
  const counts = new Float64Array(side * side);
  const h = box.bottom - box.top;
  const w = box.right - box.left;
  for (let y = box.top; y < box.bottom; y++) {
    const cy = Math.min(side - 1, Math.floor(((y - box.top + 0.5) * side) / h));
    for (let x = box.left; x < box.right; x++) {
      const cx = Math.min(side - 1, Math.floor(((x - box.left + 0.5) * side) / w));
      const i = (y * size + x) * 3;
      sums[cy * side + cx]! += ((pixels[i] as number) + (pixels[i + 1] as number) + (pixels[i + 2] as number)) / 3;
      counts[cy * side + cx]! += 1;
    }
  }
  // A box smaller than `side` leaves cells empty: they take the nearest filled row's value (nearest-neighbour upsampling).
  for (let cy = 0; cy < side; cy++) {
    for (let cx = 0; cx < side; cx++) {
      const c = cy * side + cx;
      if (counts[c]) sums[c] = (sums[c] as number) / (counts[c] as number);
      else {
        const y = box.top + Math.min(h - 1, Math.floor(((cy + 0.5) * h) / side));
        const x = box.left + Math.min(w - 1, Math.floor(((cx + 0.5) * w) / side));
        const i = (y * size + x) * 3;
        sums[c] = ((pixels[i] as number) + (pixels[i + 1] as number) + (pixels[i + 2] as number)) / 3;
      }
    }
  }
  return sums;
}

/** The `low × low` lowest-frequency coefficients of the 2-D DCT-II of `grid` (`n × n`), row-major. */
function lowFrequencies(grid: Float64Array, n: number, low: number): number[] {
  const basis = Array.from({ length: low }, (_, k) => Float64Array.from({ length: n }, (_, i) => Math.cos((Math.PI * (2 * i + 1) * k) / (2 * n))));
  // Rows first: for each of the n rows, its `low` coefficients; then columns of that.
  const rows = new Float64Array(n * low);
  for (let y = 0; y < n; y++) {
    for (let k = 0; k < low; k++) {
      let s = 0;
      const b = basis[k] as Float64Array;
      for (let x = 0; x < n; x++) s += (grid[y * n + x] as number) * (b[x] as number);
      rows[y * low + k] = s;
    }
  }
  const out: number[] = [];
  for (let ky = 0; ky < low; ky++) {
    const b = basis[ky] as Float64Array;
    for (let kx = 0; kx < low; kx++) {
      let s = 0;
      for (let y = 0; y < n; y++) s += (rows[y * low + kx] as number) * (b[y] as number);
      out.push(s);
    }
  }
  return out;
}
