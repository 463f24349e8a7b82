import { describe, expect, it } from "vitest";
import { hash32, Random } from "./random.js";

describe("Random", () => {
  it("repeats the same sequence for the same seed", () => {
    const a = new Random(42);
    const b = new Random(42);
    const xs = Array.from({ length: 50 }, () => a.uint32());
    const ys = Array.from({ length: 50 }, () => b.uint32());
    expect(xs).toEqual(ys);
    expect(new Set(xs).size).toBe(50);
  });

  it("gives different sequences for different seeds", () => {
    expect(new Random(1).uint32()).not.toBe(new Random(2).uint32());
  });

  it("forks depend on the label and the parent's seed, not on draws already made", () => {
    const used = new Random(7);
    for (let i = 0; i < 10; i++) used.float();
    expect(used.fork("photos").uint32()).toBe(new Random(7).fork("photos").uint32());
    expect(new Random(7).fork("photos").uint32()).not.toBe(new Random(7).fork("text").uint32());
    expect(new Random(7).fork(0).uint32()).not.toBe(new Random(7).fork(1).uint32());
  });

  it("keeps helpers within their ranges", () => {
    const r = new Random(3);
    for (let i = 0; i < 2000; i++) {
      const f = r.float();
      expect(f).toBeGreaterThanOrEqual(0);
      expect(f).toBeLessThan(1);
      const k = r.int(-2, 3);
      expect(Number.isInteger(k) && k >= -2 && k <= 3).toBe(true);
      const c = r.clampedNormal(0, 5, -1, 1);
      expect(c).toBeGreaterThanOrEqual(-1);
      expect(c).toBeLessThanOrEqual(1);
    }
  });

  it("picks by weight", () => {
    const r = new Random(11);
    const counts = { a: 0, b: 0, c: 0 };
    for (let i = 0; i < 10_000; i++) {
      counts[r.weighted([["a", 1], ["b", 3], ["c", 0]] as const)]++;
    }
    expect(counts.c).toBe(0);
    expect(counts.b / counts.a).toBeGreaterThan(2.6);
    expect(counts.b / counts.a).toBeLessThan(3.4);
  });

  it("draws normals with about the right mean and spread", () => {
    const r = new Random(5);
    const xs = Array.from({ length: 20_000 }, () => r.normal(10, 2));
    const mean = xs.reduce((s, x) => s + x, 0) / xs.length;
    const sd = Math.sqrt(xs.reduce((s, x) => s + (x - mean) ** 2, 0) / xs.length);
    expect(mean).toBeCloseTo(10, 1);
    expect(sd).toBeCloseTo(2, 1);
  });

  it("rejects empty choices", () => {
    expect(() => new Random(1).pick([])).toThrow(RangeError);
    expect(() => new Random(1).weighted([["a", 0]])).toThrow(RangeError);
  });
});

describe("hash32", () => {
  it("tells numbers from strings and order of parts", () => {
    expect(hash32(1, 2)).not.toBe(hash32(2, 1));
    expect(hash32(1)).not.toBe(hash32("1"));
    expect(hash32("seed", 3)).toBe(hash32("seed", 3));
  });
});
