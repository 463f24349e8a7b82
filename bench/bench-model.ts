/**
 * `npm run bench:model`: products/s of the model runtime at batch sizes 1, 8, 32 and 64,
 * decoding with and without the key/value cache, measured in one run on the same photos.
 *
 * Photos are rendered and preprocessed once beforehand, so the figures are the model's own
 * (encoder + decoder). Each cell is the median of several timed passes over the same
 * products after a warm-up pass.
 *
 * It also times the default batch size with 1, 2 and all cores' intra-op threads, which is
 * how the runtime's defaults (batch size, threads) were chosen.
 *
 *   npm run bench:model -- [--model DIR] [--products 512] [--repeats 5] [--threads N] [--json FILE]
 */
import { writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import { generateCatalogue } from "../models/catalogue/index.js";
import { loadBundle } from "../models/runtime/bundle.js";
import { createDescriber, DEFAULT_BATCH_SIZE, type PreparedProduct } from "../models/runtime/describer.js";
import { DEFAULT_INTRA_OP_THREADS } from "../models/runtime/session-settings.js";
import { DEMO_MODEL_DIR } from "../cli/commands/describe.js";

const BATCH_SIZES = [1, 8, 32, 64];
/** The synthetic seed of the benchmark's photos: never used for training. */
const BENCH_SEED = 777;

const { values } = parseArgs({
  options: {
    model: { type: "string" },
    products: { type: "string", default: "512" },
    repeats: { type: "string", default: "5" },
    threads: { type: "string" },
    json: { type: "string" },
  },
});
const productCount = Number(values.products);
const repeats = Number(values.repeats);
const modelDir = path.resolve(values.model ?? process.env.FACET_MODEL_DIR ?? DEMO_MODEL_DIR);

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
}

const threads = values.threads ? Number(values.threads) : DEFAULT_INTRA_OP_THREADS;
const bundle = await loadBundle(modelDir, { executionProvider: "cpu", intraOpThreads: threads });
const prepare = createDescriber(bundle);
const prepared: PreparedProduct[] = [];
for await (const { product, photos } of generateCatalogue({ seed: BENCH_SEED, count: productCount, concurrency: 4 })) {
  prepared.push(await prepare.preprocess({ id: product.id, photos }));
}
const photoCount = prepared.reduce((n, p) => n + p.photos.length, 0);
console.log(
  `model ${bundle.manifest.name} ${bundle.manifest.version} · ${prepared.length} products (${photoCount} photos) · ` +
    `${os.cpus().length} cores · onnxruntime CPU, intra-op threads ${threads} · median of ${repeats} passes`,
);

interface Cell {
  batch: number;
  cache: boolean;
  /** Whole model (encoder + decoding), median over passes. */
  productsPerSecond: number;
  /** Decoding alone: products/s over the decoder loop's wall time, median over passes. */
  decodePerSecond: number;
  passes: number[];
  tokensPerProduct: number;
}
const cells: Cell[] = [];
for (const batch of BATCH_SIZES) {
  for (const cache of [true, false]) {
    const describer = createDescriber(bundle, { batchSize: batch, useCache: cache });
    // Slow configurations (no cache at batch 1) get fewer products so the run stays short.
    const subset = cache || batch >= 8 ? prepared : prepared.slice(0, Math.min(prepared.length, 32));
    await describer.infer(subset.slice(0, batch)); // warm-up: allocations, thread pool
    const passes: number[] = [];
    const decodes: number[] = [];
    let tokens = 0;
    for (let r = 0; r < repeats; r++) {
      const started = performance.now();
      const out = await describer.infer(subset);
      passes.push(subset.length / ((performance.now() - started) / 1000));
      // Each product carries its batch's decode time: sum it once per batch.
      const decodeMs = out.reduce((ms, d) => ms + d.timings.decodeMs / d.timings.batchSize, 0);
      decodes.push(subset.length / (decodeMs / 1000));
      tokens = out.reduce((n, d) => n + d.tokens.length, 0) / out.length;
    }
    cells.push({ batch, cache, productsPerSecond: median(passes), decodePerSecond: median(decodes), passes, tokensPerProduct: tokens });
  }
}
await bundle.close();

/** Whole-model products/s at the default batch size, with the cache, for a thread count. */
async function threadRate(intraOpThreads: number): Promise<number> {
  const b = await loadBundle(modelDir, { executionProvider: "cpu", intraOpThreads });
  try {
    const describer = createDescriber(b, { batchSize: DEFAULT_BATCH_SIZE });
    await describer.infer(prepared.slice(0, DEFAULT_BATCH_SIZE));
    const passes: number[] = [];
    for (let r = 0; r < repeats; r++) {
      const started = performance.now();
      await describer.infer(prepared);
      passes.push(prepared.length / ((performance.now() - started) / 1000));
    }
    return median(passes);
  } finally {
    await b.close();
  }
}
const threadCounts = [...new Set([1, 2, os.availableParallelism()])];
const threadRates = new Map<number, number>();
for (const n of threadCounts) threadRates.set(n, await threadRate(n));

const cell = (batch: number, cache: boolean) => cells.find((c) => c.batch === batch && c.cache === cache) as Cell;
const rate = (batch: number, cache: boolean) => cell(batch, cache).productsPerSecond;
const decodeRate = (batch: number, cache: boolean) => cell(batch, cache).decodePerSecond;
const pad = (x: string, n: number) => x.padStart(n);
console.log("\n| batch | model products/s, cache | model products/s, no cache | ratio | decoding products/s, cache | decoding products/s, no cache | decoding ratio |");
console.log("|------:|------------------------:|---------------------------:|------:|---------------------------:|------------------------------:|---------------:|");
for (const batch of BATCH_SIZES) {
  const [a, b, c, d] = [rate(batch, true), rate(batch, false), decodeRate(batch, true), decodeRate(batch, false)];
  console.log(
    `| ${pad(String(batch), 5)} | ${pad(a.toFixed(1), 23)} | ${pad(b.toFixed(1), 26)} | ${pad((a / b).toFixed(2), 4)}× ` +
      `| ${pad(c.toFixed(1), 26)} | ${pad(d.toFixed(1), 29)} | ${pad((c / d).toFixed(2), 13)}× |`,
  );
}
const tokensPerProduct = cell(32, true).tokensPerProduct;
const best = BATCH_SIZES.reduce((x, y) => (rate(y, true) > rate(x, true) ? y : x));
// The recommendation: the smallest batch within 5% of the best (less memory and latency for the same throughput).
const recommended = BATCH_SIZES.find((b) => rate(b, true) >= 0.95 * rate(best, true)) as number;
const speedup32 = decodeRate(32, true) / decodeRate(32, false);
console.log(`\nmean generated tokens per product: ${tokensPerProduct.toFixed(1)}`);
console.log(
  `best batch size with the cache: ${best} (${rate(best, true).toFixed(1)} products/s); smallest within 5% of it: ${recommended}; ` +
    `the runtime default is ${DEFAULT_BATCH_SIZE}`,
);
console.log(
  `intra-op threads at batch ${DEFAULT_BATCH_SIZE} with the cache: ` +
    [...threadRates].map(([n, r]) => `${n} → ${r.toFixed(1)} products/s`).join(", ") +
    `; the runtime default is ${DEFAULT_INTRA_OP_THREADS}`,
);
console.log(`decoding speed-up from the cache at batch 32: ${speedup32.toFixed(2)}× (target ≥ 3×): ${speedup32 >= 3 ? "PASS" : "FAIL"}`);
if (values.json) {
  const threadsOut = Object.fromEntries(threadRates);
  await writeFile(values.json, JSON.stringify({ model: bundle.manifest.version, threads, cells, best, speedup32, threadsOut }, null, 2));
}
process.exitCode = speedup32 >= 3 ? 0 : 1;
