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
}

export interface GreedyDecodeResult {
  /** Generated ids per sequence, ending with `<eos>` unless `maxLength` cut it. */
  tokens: number[][];
  /** Decoder calls made (steps of the longest sequence). */
  steps: number;
}

/**
 * Batched greedy decoding. Each sequence stops on its own `<eos>` (or at maxLength); finished
 * sequences are dropped from the batch so later steps only pay for the ones still running;
 * the loop ends when none is left. Deterministic: argmax with ties to the lowest id.
 */
export async function greedyDecode(graph: DecoderGraph, input: GreedyDecodeInput): Promise<GreedyDecodeResult> {
  const { batch, memoryTokens: m, featureDim: d, layers, heads, headDim } = input;
  const useCache = input.useCache ?? true;
  const out: number[][] = Array.from({ length: batch }, () => []);
  // `rows[i]` is the original sequence index of the i-th row still running.
  let rows = Array.from({ length: batch }, (_, i) => i);
  let memory: ort.Tensor = new ort.Tensor("float32", input.memory, [batch, m, d]);
  let mask: ort.Tensor = new ort.Tensor("float32", input.memoryMask, [batch, m]);
  let past: ort.Tensor = emptyPast(batch, layers, heads, headDim);
  let steps = 0;

  while (rows.length > 0) {
    const b = rows.length;
    const tokens = useCache ? lastTokens(rows, out, input.bosId) : prefixes(rows, out, input.bosId);
    const result = await graph.run({ tokens, past, memory, memory_mask: mask });
    steps += 1;
    const logits = result.logits as ort.Tensor;
    const [, t, v] = logits.dims as [number, number, number];
    const data = logits.data as Float32Array;

    const keep: number[] = [];
    for (let r = 0; r < b; r++) {
      const next = argmax(data, (r * t + (t - 1)) * v, v);
      const seq = out[rows[r] as number] as number[];
      seq.push(next);
      if (next !== input.eosId && seq.length < input.maxLength) keep.push(r);
    }
    if (keep.length === 0) break;
    if (useCache) {
      const present = result.present as ort.Tensor;
      past = keep.length === b ? present : takeRows(present, keep);
    }
    if (keep.length !== b) {
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

function lastTokens(rows: number[], out: number[][], bos: number): ort.Tensor {
  const ids = BigInt64Array.from(rows, (i) => BigInt((out[i] as number[]).at(-1) ?? bos));
  return new ort.Tensor("int64", ids, [rows.length, 1]);
}

function prefixes(rows: number[], out: number[][], bos: number): ort.Tensor {
  // All running rows have the same length: they started together and none has stopped.
  const t = (out[rows[0] as number] as number[]).length + 1;
  const ids = new BigInt64Array(rows.length * t);
  rows.forEach((i, r) => {
    ids[r * t] = BigInt(bos);
    (out[i] as number[]).forEach((id, j) => (ids[r * t + j + 1] = BigInt(id)));
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

export function argmax(data: Float32Array, offset: number, length: number): number {
  let best = 0;
  let bestValue = -Infinity;
  for (let i = 0; i < length; i++) {
    const value = data[offset + i] as number;
    if (value > bestValue) {
      bestValue = value;
      best = i;
    }
  }
  return best;
}
