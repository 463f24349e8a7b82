import * as ort from "onnxruntime-node";
import { describe, expect, it } from "vitest";
import { greedyDecode, type DecoderGraph } from "./greedy-decoder.js";

const EOS = 2;
const V = 12;

/**
 * A fake decoder: sequence with memory value L emits 4, 5, 6, … and then <eos> once it has
 * produced L tokens. It reads the position from the cache length (with cache) or the prefix
 * length (without), as the real graph does, and records the batch size of every call.
 */
function fakeGraph(calls: number[][]): DecoderGraph {
  return {
    async run(feeds) {
      const tokens = feeds.tokens as ort.Tensor;
      const past = feeds.past as ort.Tensor;
      const memory = feeds.memory as ort.Tensor;
      const [b, t] = tokens.dims as [number, number];
      const p = past.dims[3] as number;
      calls.push([b, t, p]);
      const logits = new Float32Array(b * t * V);
      for (let r = 0; r < b; r++) {
        const length = (memory.data as Float32Array)[r * memory.dims[1]! * memory.dims[2]!] as number;
        const produced = p + t; // tokens seen so far, <bos> included
        const next = produced > length ? EOS : 3 + produced;
        logits[(r * t + t - 1) * V + next] = 1;
      }
      const present = new ort.Tensor("float32", new Float32Array(b * 2 * 1 * (p + t) * 1), [b, 2, 1, p + t, 1]);
      return { logits: new ort.Tensor("float32", logits, [b, t, V]), present };
    },
  };
}

function input(lengths: number[], useCache: boolean) {
  const memory = new Float32Array(lengths.length * 2 * 1);
  lengths.forEach((l, i) => (memory[i * 2] = l));
  return {
    memory, memoryMask: new Float32Array(lengths.length * 2).fill(1), batch: lengths.length, memoryTokens: 2, featureDim: 1,
    bosId: 1, eosId: EOS, maxLength: 8, layers: 1, heads: 1, headDim: 1, useCache,
  };
}

describe("greedyDecode", () => {
  it("stops each sequence on its own <eos> and drops finished rows from the batch", async () => {
    const calls: number[][] = [];
    const { tokens, steps } = await greedyDecode(fakeGraph(calls), input([1, 3, 2], true));
    expect(tokens).toEqual([[4, EOS], [4, 5, 6, EOS], [4, 5, EOS]]);
    expect(steps).toBe(4);
    expect(calls.map(([b]) => b)).toEqual([3, 3, 2, 1]); // rows leave as they finish
    expect(calls.every(([, t]) => t === 1)).toBe(true); // one new token per step with the cache
  });

  it("gives the same tokens without the cache, feeding the whole prefix", async () => {
    const calls: number[][] = [];
    const { tokens } = await greedyDecode(fakeGraph(calls), input([1, 3, 2], false));
    expect(tokens).toEqual([[4, EOS], [4, 5, 6, EOS], [4, 5, EOS]]);
    expect(calls.map(([, t, p]) => [t, p])).toEqual([[1, 0], [2, 0], [3, 0], [4, 0]]);
  });

  it("cuts sequences at maxLength", async () => {
    const { tokens } = await greedyDecode(fakeGraph([]), { ...input([20], true), maxLength: 5 });
    expect(tokens).toEqual([[4, 5, 6, 7, 8]]);
  });
});

describe("constrained greedy decoding", () => {
  /** A decoder that always prefers token 4, then 5, then 6 (logits 3, 2, 1), then <eos>. */
  const preferring: DecoderGraph = {
    async run(feeds) {
      const tokens = feeds.tokens as ort.Tensor;
      const past = feeds.past as ort.Tensor;
      const [b, t] = tokens.dims as [number, number];
      const p = past.dims[3] as number;
      const logits = new Float32Array(b * t * V);
      for (let r = 0; r < b; r++) {
        const row = (r * t + t - 1) * V;
        if (p + t > 4) logits[row + EOS] = 10;
        else [3, 2, 1].forEach((v, i) => (logits[row + 4 + i] = v));
      }
      const present = new ort.Tensor("float32", new Float32Array(b * 2 * (p + t)), [b, 2, 1, p + t, 1]);
      return { logits: new ort.Tensor("float32", logits, [b, t, V]), present };
    },
  };

  it("never repeats the previous token: the runner-up comes instead", async () => {
    const free = await greedyDecode(preferring, { ...input([9, 9], true), maxLength: 8 });
    expect(free.tokens[0]).toEqual([4, 5, 4, 5, EOS]);
  });

  it("never emits a banned id, and an id in `once` at most once per sequence", async () => {
    const base = { ...input([9, 9], true), maxLength: 8 };
    const constrained = await greedyDecode(preferring, { ...base, banned: [new Set([4]), new Set()], once: new Set([4, 5, 6]) });
    // With 4, 5 and 6 used up, every remaining logit ties at 0: the lowest id wins, but not twice in a row.
    expect(constrained.tokens[0]).toEqual([5, 6, 0, 1, EOS]);
    expect(constrained.tokens[1]).toEqual([4, 5, 6, 0, EOS]);
  });
});
