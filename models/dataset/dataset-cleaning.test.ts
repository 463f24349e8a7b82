import { describe, expect, it } from "vitest";
import { splitOf } from "./dataset-split.js";
import { duplicateGroups } from "./duplicate-groups.js";
import { hammingDistance, perceptualHash } from "./photo-fingerprint.js";

const SIZE = 64;
const WHITE = [255, 255, 255] as const;

/** A white photo with a dark square (side `s`) at (x, y), plus optional noise. */
function photo(x: number, y: number, s: number, noise = 0, seed = 1): Uint8Array {
  const pixels = new Uint8Array(SIZE * SIZE * 3).fill(255);
  let r = seed;
  for (let j = y; j < y + s; j++) {
    for (let i = x; i < x + s; i++) {
      for (let c = 0; c < 3; c++) {
        r = (r * 1103515245 + 12345) % 2 ** 31;
        pixels[(j * SIZE + i) * 3 + c] = Math.max(0, Math.min(255, 40 + (((i - x) * 7 + (j - y) * 3) % 60) + Math.round(((r / 2 ** 31) - 0.5) * noise)));
      }
    }
  }
  return pixels;
}

describe("perceptual hash", () => {
  it("sees the same object moved or lightly noised as near, and another object as far", () => {
    const a = perceptualHash(photo(10, 10, 30), SIZE, WHITE);
    expect(hammingDistance(a, perceptualHash(photo(20, 15, 30), SIZE, WHITE))).toBe(0); // moved: the box is what is hashed
    expect(hammingDistance(a, perceptualHash(photo(10, 10, 30, 20, 7), SIZE, WHITE))).toBeLessThanOrEqual(6);
    const striped = photo(10, 10, 30);
    for (let j = 10; j < 40; j += 4) for (let i = 10; i < 40; i++) striped.fill(250, (j * SIZE + i) * 3, (j * SIZE + i) * 3 + 3);
    expect(hammingDistance(a, perceptualHash(striped, SIZE, WHITE))).toBeGreaterThan(6);
  });
});

describe("duplicate groups", () => {
  const fp = (sha: string, phash: [number, number]) => ({ sha256: sha, phash });
  it("groups the same file and near-identical pictures, transitively, keyed by the smallest id", () => {
    const groups = duplicateGroups([
      { id: "b", photos: [fp("x", [0, 0])] },
      { id: "a", photos: [fp("x", [0xffff, 0])] }, // same bytes as b
      { id: "c", photos: [fp("y", [0b111, 0])] }, // 3 bits from b
      { id: "d", photos: [fp("z", [0xffffffff, 0xffffffff])] },
    ]);
    expect(groups.groupKeys).toEqual(["a", "a", "a", "d"]);
    expect(groups.samePhoto[0]).toEqual([1]);
    expect(groups.duplicates).toBe(3);
    expect(groups.groups).toBe(2);
  });
});

describe("splits", () => {
  it("are a stable function of the group key, in about the asked shares", () => {
    expect(splitOf("p000123")).toBe(splitOf("p000123"));
    const counts = { train: 0, val: 0, test: 0 };
    for (let i = 0; i < 10_000; i++) counts[splitOf(`p${i}`)]++;
    expect(counts.test / 10_000).toBeCloseTo(0.15, 1);
    expect(counts.val / 10_000).toBeCloseTo(0.15, 1);
    expect(splitOf("anything", { val: 0, test: 0 })).toBe("train");
  });
});
