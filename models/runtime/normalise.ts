/**
 * Write preprocessed photos into a normalised float32 NCHW tensor: (pixel/255 - mean) / std.
 * `out` holds `photos.length × 3 × size × size` values.
 */
export function normalise(
  photos: readonly Uint8Array[],
  size: number,
  mean: readonly number[],
  std: readonly number[],
  out: Float32Array = new Float32Array(photos.length * 3 * size * size),
): Float32Array {
  const plane = size * size;
  const scale = [0, 1, 2].map((c) => 1 / (255 * (std[c] as number)));
  const shift = [0, 1, 2].map((c) => (mean[c] as number) / (std[c] as number));
  photos.forEach((pixels, n) => {
    const base = n * 3 * plane;
    for (let c = 0; c < 3; c++) {
      const s = scale[c] as number;
      const t = shift[c] as number;
      const o = base + c * plane;
      for (let i = 0; i < plane; i++) out[o + i] = (pixels[i * 3 + c] as number) * s - t;
    }
  });
  return out;
}
