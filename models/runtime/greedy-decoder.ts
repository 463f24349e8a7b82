import * as ort from "onnxruntime-node";

/** The part of an ONNX session the decoder loop needs (a fake in unit tests). */
export interface DecoderGraph {
  run(feeds: Record<string, ort.Tensor>): Promise<Record<string, ort.OnnxValue>>;
}

export interface GreedyDecodeInput {
  /** Image features of each sequence, `[B, M, D]` row-major. */
  memory: Float32Array;
  /** 1 for real feature tokens, 0 for padding, `[B, M]`. */
  memoryMask: Float32Array;
  batch: number;
  memoryTokens: number;
  featureDim: number;
  bosId: number;
  eosId: number;
  /** Most tokens generated per sequence (`<eos>` included). */
  maxLength: number;
  /** Cache geometry: `past` is `[B, 2·layers, heads, P, headDim]`. */
  layers: number;
  heads: number;
  headDim: number;
  /**
   * true (default): one token per step, reusing the key/value cache. false: recompute the
   * whole prefix every step (the baseline the benchmark compares against).
   */
  useCache?: boolean;
  /**
   * Constrained decoding: per sequence, token ids it must never emit (the slots of attributes its
   * text may not state). Absent: nothing banned.
   */
  banned?: ReadonlyArray<ReadonlySet<number>>;
  /** Ids a sequence emits at most once (slots: each attribute is stated once); banned for it after. */
  once?: ReadonlySet<number>;
}

// Every sequence also never emits its previous token again ("a a a …"): house-style text has no
// doubled word, and on photos unlike its training a decoder can otherwise loop until maxLength.

export interface GreedyDecodeResult {
  /** Generated ids per sequence, ending with `<eos>` unless `maxLength` cut it. */
  tokens: number[][];
  /** Decoder calls made (steps of the longest sequence). */
  steps: number;
}

/**
 * Batched greedy decoding. Each sequence stops on its own `<eos>` (or at maxLength); finished
 * sequences are dropped from the batch (in groups) so later steps pay mostly for the ones
 * still running; the loop ends when none is left. Deterministic: argmax with ties to the
 * lowest id, and a row's outputs do not depend on the other rows.
 */
export async function greedyDecode(graph: DecoderGraph, input: GreedyDecodeInput): Promise<GreedyDecodeResult> {
  const { batch, memoryTokens: m, featureDim: d, layers, heads, headDim } = input;
  const useCache = input.useCache ?? true;
  const out: number[][] = Array.from({ length: batch }, () => []);
  const finished = new Array<boolean>(batch).fill(false);
  // `rows[i]` is the sequence in row i of the current batch. Finished sequences stay in the
  // batch (their outputs ignored) until a quarter of the rows are finished: dropping rows
  // copies the whole cache, so it is done in a few large steps rather than one per sequence.
  let rows = Array.from({ length: batch }, (_, i) => i);
  let memory: ort.Tensor = new ort.Tensor("float32", input.memory, [batch, m, d]);
  let mask: ort.Tensor = new ort.Tensor("float32", input.memoryMask, [batch, m]);
  let past: ort.Tensor = emptyPast(batch, layers, heads, headDim);
  let running = batch;
  let steps = 0;
  const banned = Array.from({ length: batch }, (_, i) => new Set(input.banned?.[i] ?? []));
  const once = input.once ?? new Set<number>();

  while (running > 0) {
    const tokens = useCache ? lastTokens(rows, out, input.bosId) : prefixes(rows, out, input.bosId, steps + 1);
    const result = await graph.run({ tokens, past, memory, memory_mask: mask });
    steps += 1;
    const logits = result.logits as ort.Tensor;
    const [, t, v] = logits.dims as [number, number, number];
    const data = logits.data as Float32Array;

    rows.forEach((seq, r) => {
      if (finished[seq]) return;
      const rowBanned = banned[seq] as Set<number>;
      const tokensOut = out[seq] as number[];
      const next = argmax(data, (r * t + (t - 1)) * v, v, rowBanned, tokensOut.at(-1));
      tokensOut.push(next);
      if (once.has(next)) rowBanned.add(next);
      if (next === input.eosId || tokensOut.length >= input.maxLength) {
        finished[seq] = true;
        running -= 1;
      }
    });
    if (running === 0) break;
    if (useCache) past = result.present as ort.Tensor;
    const idle = rows.length - rows.filter((seq) => !finished[seq]).length;
    if (idle > 0 && idle * 4 >= rows.length) {
      const keep = rows.flatMap((seq, r) => (finished[seq] ? [] : [r]));
      if (useCache) past = takeRows(past, keep);
      memory = takeRows(memory, keep);
      mask = takeRows(mask, keep);
      rows = keep.map((r) => rows[r] as number);
    }
  }
  return { tokens: out, steps };
}

function emptyPast(b: number, layers: number, heads: number, headDim: number): ort.Tensor {
  return new ort.Tensor("float32", new Float32Array(0), [b, 2 * layers, heads, 0, headDim]);
}

/** The last token of each row's sequence (a finished row repeats its last; its output is ignored). */
function lastTokens(rows: number[], out: number[][], bos: number): ort.Tensor {
  const ids = BigInt64Array.from(rows, (i) => BigInt((out[i] as number[]).at(-1) ?? bos));
  return new ort.Tensor("int64", ids, [rows.length, 1]);
}

/** `<bos>` + each row's tokens, `t` long; a finished row's shorter sequence is padded with its last token. */
function prefixes(rows: number[], out: number[][], bos: number, t: number): ort.Tensor {
  const ids = new BigInt64Array(rows.length * t);
  rows.forEach((i, r) => {
    const seq = out[i] as number[];
    ids[r * t] = BigInt(bos);
    for (let j = 1; j < t; j++) ids[r * t + j] = BigInt(seq[Math.min(j - 1, seq.length - 1)] ?? bos);
  });
  return new ort.Tensor("int64", ids, [rows.length, t]);
}

/** Keep rows `keep` (in order) of a batch-first float tensor. */
export function takeRows(tensor: ort.Tensor, keep: readonly number[]): ort.Tensor {
  const dims = tensor.dims;
  const b = dims[0] as number;
  const rowSize = b === 0 ? 0 : tensor.size / b;
  const src = tensor.data as Float32Array;
  const dst = new Float32Array(keep.length * rowSize);
  keep.forEach((r, i) => dst.set(src.subarray(r * rowSize, (r + 1) * rowSize), i * rowSize));
  return new ort.Tensor("float32", dst, [keep.length, ...dims.slice(1)]);
}

/** Index of the largest of `length` values from `offset` (ties: the lowest index), skipping `banned` indices and `previous`. */
export function argmax(data: Float32Array, offset: number, length: number, banned?: ReadonlySet<number>, previous?: number): number {
  let best = 0;
  let bestValue = -Infinity;
  for (let i = 0; i < length; i++) {
    if (i === previous || (banned !== undefined && banned.size > 0 && banned.has(i))) continue;
    const value = data[offset + i] as number;
    if (value > bestValue) {
      bestValue = value;
      best = i;
    }
  }
  return best;
}
