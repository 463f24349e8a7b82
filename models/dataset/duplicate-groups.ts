import { hammingDistance, type PhotoFingerprint } from "./photo-fingerprint.js";

/**
 * Products that share a photo, grouped so that a group never straddles the splits.
 *
 * Two products are in one group when any of their photos are the same file (sha256) or near
 * duplicates (perceptual hashes at most NEAR_DUPLICATE_BITS apart: the same picture re-encoded,
 * resized, lightly cropped, or another colour variant shot the same way). Groups are closed
 * transitively. Candidate pairs come from banding the 64-bit hash into 8 bytes: two hashes at most 6
 * bits apart agree on at least 2 of the 8 bands, so comparing within each band's buckets finds every
 * near pair without comparing all pairs.
 */
export const NEAR_DUPLICATE_BITS = 6;
const BANDS = 8;

export interface ProductPhotos {
  id: string;
  photos: readonly PhotoFingerprint[];
}

export interface DuplicateGroups {
  /** Per product (input order): its group's key, the smallest product id in the group. */
  groupKeys: string[];
  /** Per product: the indices of the products with the very same photo (same bytes, or identical perceptual hash), itself excluded. */
  samePhoto: number[][];
  /** Products that share their group with at least one other. */
  duplicates: number;
  groups: number;
}

export function duplicateGroups(products: readonly ProductPhotos[]): DuplicateGroups {
  const parent = products.map((_, i) => i);
  const find = (i: number): number => {
    while (parent[i] !== i) {
      parent[i] = parent[parent[i] as number] as number;
      i = parent[i] as number;
    }
    return i;
  };
  const union = (a: number, b: number) => {
    const ra = find(a);
    const rb = find(b);
    if (ra !== rb) parent[Math.max(ra, rb)] = Math.min(ra, rb);
  };

  const photos = products.flatMap((p, product) => p.photos.map((f) => ({ product, f })));
  const samePhoto = products.map(() => new Set<number>());
  const same = (a: number, b: number) => {
    if (a === b) return;
    samePhoto[a]?.add(b);
    samePhoto[b]?.add(a);
  };

  const bySha = new Map<string, number>();
  for (const { product, f } of photos) {
    const first = bySha.get(f.sha256);
    if (first === undefined) bySha.set(f.sha256, product);
    else {
      union(first, product);
      same(first, product);
    }
  }

  const buckets = new Map<number, number[]>();
  photos.forEach(({ f }, i) => {
    for (let band = 0; band < BANDS; band++) {
      const word = band < 4 ? f.phash[0] : f.phash[1];
      const key = band * 256 + ((word >>> ((band % 4) * 8)) & 0xff);
      let bucket = buckets.get(key);
      if (!bucket) buckets.set(key, (bucket = []));
      bucket.push(i);
    }
  });
  for (const bucket of buckets.values()) {
    for (let x = 0; x < bucket.length; x++) {
      const a = photos[bucket[x] as number] as (typeof photos)[number];
      for (let y = x + 1; y < bucket.length; y++) {
        const b = photos[bucket[y] as number] as (typeof photos)[number];
        if (a.product === b.product) continue;
        const distance = hammingDistance(a.f.phash, b.f.phash);
        if (distance > NEAR_DUPLICATE_BITS) continue;
        union(a.product, b.product);
        if (distance === 0) same(a.product, b.product);
      }
    }
  }

  const roots = products.map((_, i) => find(i));
  const keyOfRoot = new Map<number, string>();
  const sizes = new Map<number, number>();
  roots.forEach((root, i) => {
    const id = (products[i] as ProductPhotos).id;
    const key = keyOfRoot.get(root);
    if (key === undefined || id < key) keyOfRoot.set(root, id);
    sizes.set(root, (sizes.get(root) ?? 0) + 1);
  });
  return {
    groupKeys: roots.map((root) => keyOfRoot.get(root) as string),
    samePhoto: samePhoto.map((s) => [...s].sort((a, b) => a - b)),
    duplicates: roots.filter((root) => (sizes.get(root) as number) > 1).length,
    groups: keyOfRoot.size,
  };
}
