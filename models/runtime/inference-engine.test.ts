import { mkdtemp, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DEMO_MODEL_DIR } from "../../cli/commands/describe.js";
import { generateCatalogue } from "../catalogue/index.js";
import { loadBundle, type ModelBundle } from "./bundle.js";
import { createDescriber, type PreparedProduct } from "./describer.js";
import { inProcessEngine, startThreadedEngine, type InferenceEngine } from "./inference-engine.js";
import { DEFAULT_SESSION_SETTINGS } from "./session-settings.js";

let bundle: ModelBundle;
let engine: InferenceEngine;
const prepared: PreparedProduct[] = [];

beforeAll(async () => {
  bundle = await loadBundle(DEMO_MODEL_DIR);
  engine = await startThreadedEngine(DEMO_MODEL_DIR, DEFAULT_SESSION_SETTINGS, 2, { batchSize: 4 });
  const describer = createDescriber(bundle);
  for await (const { product, photos } of generateCatalogue({ seed: 4242, count: 12, concurrency: 4 })) {
    prepared.push(await describer.preprocess({ id: product.id, photos }));
  }
}, 120_000);

afterAll(async () => {
  await engine?.close();
  await bundle?.close();
});

describe("threaded inference engine", () => {
  it("gives the same tokens and attributes as inference on the calling thread, in order", async () => {
    const local = await inProcessEngine(bundle, { batchSize: 4 }).infer(prepared);
    // Three batches of 4, spread over two threads at once.
    const threaded = await Promise.all([engine.infer(prepared.slice(0, 4)), engine.infer(prepared.slice(4, 8)), engine.infer(prepared.slice(8))]);
    const flat = threaded.flat();
    expect(flat.map((r) => r.id)).toEqual(prepared.map((p) => p.id));
    expect(flat.map((r) => r.tokens)).toEqual(local.map((r) => r.tokens));
    flat.forEach((r, i) => {
      for (const [name, a] of Object.entries(r.attributes)) {
        expect(a.label).toBe(local[i]?.attributes[name]?.label);
        expect(a.confidence).toBeCloseTo(local[i]?.attributes[name]?.confidence as number, 5);
      }
    });
    expect(engine.parallelism).toBe(2);
    expect(engine.busySeconds()).toBeGreaterThan(0);
  });

  it("keeps the event loop free while a batch infers", async () => {
    let ticks = 0;
    const timer = setInterval(() => ticks++, 5);
    const started = performance.now();
    await engine.infer(prepared);
    clearInterval(timer);
    const elapsed = performance.now() - started;
    // A blocked loop would tick about once; a free one ticks most of the 5 ms slots.
    expect(ticks).toBeGreaterThan(Math.floor(elapsed / 5 / 3));
  });

  it("fails to start with the thread's load error when the bundle is broken, and leaves no thread behind", async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), "facet-engine-"));
    try {
      await writeFile(path.join(dir, "manifest.json"), "{ not json");
      await expect(startThreadedEngine(dir, DEFAULT_SESSION_SETTINGS, 2)).rejects.toThrow(/manifest\.json/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("refuses work after close", async () => {
    const other = await startThreadedEngine(DEMO_MODEL_DIR, DEFAULT_SESSION_SETTINGS, 1);
    await other.close();
    await expect(other.infer(prepared.slice(0, 1))).rejects.toThrow("inference engine is closed");
  });
});
