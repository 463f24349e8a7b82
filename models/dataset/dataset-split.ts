import { createHash } from "node:crypto";

export type Split = "train" | "val" | "test";

/** Shares of the products (by duplicate group) in the validation and test splits; the rest train. */
export interface SplitShares {
  val: number;
  test: number;
}

/**
 * 15% test, 15% validation: with a catalogue of ~2,000 products that leaves ~300 for each, enough
 * to fit a temperature and read accuracy to about ±1.5%, and 70% to train on.
 */
export const DEFAULT_SPLIT_SHARES: SplitShares = { val: 0.15, test: 0.15 };

/**
 * The split of a duplicate group, from a hash of its key (the smallest product id in it): the same
 * product lands in the same split in every export, whatever else the catalogue holds, unless it
 * joins a new duplicate group. Training never reads the test split, nor early-stops on it.
 */
export function splitOf(groupKey: string, shares: SplitShares = DEFAULT_SPLIT_SHARES): Split {
  const u = createHash("sha256").update(groupKey).digest().readUInt32BE(0) / 2 ** 32;
  if (u < shares.test) return "test";
  if (u < shares.test + shares.val) return "val";
  return "train";
}
