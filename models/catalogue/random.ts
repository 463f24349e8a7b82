/**
 * A small seeded pseudo-random generator (splitmix32) for the synthetic catalogue.
 *
 * Determinism matters more than statistical quality here: product `i` of seed `s`
 * must come out identical whatever else is generated, so every product derives its
 * own stream from `(seed, index)` and every concern inside a product (attributes,
 * photos, text) forks a child stream by label. A fork depends only on the parent's
 * seed and the label, never on how many numbers the parent has already drawn, so
 * adding a draw in one concern does not shift the others.
 */
export class Random {
  /** The seed this stream started from (uint32). */
  readonly seed: number;
  private state: number;
  private spareNormal: number | undefined;

  constructor(seed: number) {
    this.seed = seed >>> 0;
    this.state = this.seed;
  }

  /** A stream seeded by hashing all parts together (numbers and labels). */
  static from(...parts: ReadonlyArray<number | string>): Random {
    return new Random(hash32(...parts));
  }

  /** A child stream for `label`, independent of how much of this stream was used. */
  fork(label: number | string): Random {
    return Random.from(this.seed, label);
  }

  /** The next uint32. */
  uint32(): number {
    this.state = (this.state + 0x9e3779b9) | 0;
    let z = this.state;
    z = Math.imul(z ^ (z >>> 16), 0x21f0aaad);
    z = Math.imul(z ^ (z >>> 15), 0x735a2d97);
    return (z ^ (z >>> 15)) >>> 0;
  }

  /** Uniform in [0, 1). */
  float(): number {
    return this.uint32() / 4294967296;
  }

  /** Uniform in [min, max). */
  range(min: number, max: number): number {
    return min + (max - min) * this.float();
  }

  /** Uniform integer in [min, max], both inclusive. */
  int(min: number, max: number): number {
    return min + Math.floor(this.float() * (max - min + 1));
  }

  /** True with probability `p`. */
  chance(p: number): boolean {
    return this.float() < p;
  }

  /** -1 or +1 with equal probability. */
  sign(): number {
    return this.float() < 0.5 ? -1 : 1;
  }

  /** One item, uniformly. */
  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new RangeError("Random.pick: empty list");
    return items[Math.floor(this.float() * items.length)] as T;
  }

  /** One value, with probability proportional to its weight. */
  weighted<T>(entries: ReadonlyArray<readonly [T, number]>): T {
    let total = 0;
    for (const [, w] of entries) total += w;
    if (!(total > 0)) throw new RangeError("Random.weighted: weights must sum to more than 0");
    let r = this.float() * total;
    for (const [value, w] of entries) {
      r -= w;
      if (r < 0) return value;
    }
    return (entries[entries.length - 1] as readonly [T, number])[0];
  }

  /** Normally distributed (Box-Muller). */
  normal(mean = 0, sd = 1): number {
    if (this.spareNormal !== undefined) {
      const z = this.spareNormal;
      this.spareNormal = undefined;
      return mean + sd * z;
    }
    const u = 1 - this.float();
    const v = this.float();
    const m = Math.sqrt(-2 * Math.log(u));
    this.spareNormal = m * Math.sin(2 * Math.PI * v);
    return mean + sd * m * Math.cos(2 * Math.PI * v);
  }

  /** Normal, clamped to [min, max]. */
  clampedNormal(mean: number, sd: number, min: number, max: number): number {
    return Math.min(max, Math.max(min, this.normal(mean, sd)));
  }
}

/** A 32-bit hash of numbers and strings (FNV-1a over the parts, then a murmur finaliser). */
export function hash32(...parts: ReadonlyArray<number | string>): number {
  let h = 0x811c9dc5;
  const mixWord = (w: number): void => {
    for (let i = 0; i < 4; i++) {
      h ^= (w >>> (i * 8)) & 0xff;
      h = Math.imul(h, 0x01000193);
    }
  };
  for (const part of parts) {
    if (typeof part === "number") {
      // Integers hash by value; fractional numbers by their float bits would be
      // overkill here, so they are rounded to 1e-6 to stay stable.
      const n = Number.isInteger(part) ? part : Math.round(part * 1e6);
      mixWord(n >>> 0);
      mixWord(Math.floor(n / 4294967296) >>> 0);
      mixWord(0x6e756d); // type tag: "num"
    } else {
      for (let i = 0; i < part.length; i++) mixWord(part.charCodeAt(i));
      mixWord(0x737472); // type tag: "str"
    }
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}
