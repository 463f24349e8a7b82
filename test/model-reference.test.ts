/**
 * The TypeScript runtime (onnxruntime-node on the exported graphs) against the Python
 * reference (the same model in PyTorch, models/training/facet_train/reference.py) on the
 * same photos: identical constrained greedy tokens and text, the same stated labels and
 * review reasons, calibrated probabilities and familiarity within 1e-4.
 */
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DEMO_MODEL_DIR } from "../cli/commands/describe.js";
import { generateCatalogue } from "../models/catalogue/index.js";
import { writeDataset, type SourceProduct } from "../models/dataset/dataset-writer.js";
import { SYNTHETIC_ATTRIBUTES } from "../models/dataset/synthetic-source.js";
import { loadBundle } from "../models/runtime/bundle.js";
import { createDescriber, type ProductPhotos } from "../models/runtime/describer.js";
import { pythonTorchMissing, runTrainingModule } from "./helpers/python.js";

const missing = pythonTorchMissing();
if (missing) console.warn(`skipping the Python reference comparison: ${missing}`);

interface ReferenceOutput {
  id: string;
  tokens: number[];
  text: string;
  probs: Record<string, number[]>;
  familiarity: number | null;
  stated: Record<string, string>;
  review: string[];
}

describe.skipIf(missing !== undefined)("TypeScript runtime vs Python reference", () => {
  let tmp: string;
  const products: ProductPhotos[] = [];
  beforeAll(async () => {
    tmp = await mkdtemp(path.join(os.tmpdir(), "facet-ref-"));
    const catalogue: SourceProduct[] = [];
    for await (const { product, photos } of generateCatalogue({ seed: 2024, count: 16 })) {
      products.push({ id: product.id, photos });
      catalogue.push({ id: product.id, photos, attributes: { ...product.attributes }, artisan: null });
    }
    async function* source() {
      yield* catalogue;
    }
    await writeDataset({ out: path.join(tmp, "data"), attributes: SYNTHETIC_ATTRIBUTES, source: { kind: "synthetic", seed: 2024 } }, source());
  });
  afterAll(async () => {
    await rm(tmp, { recursive: true, force: true });
  });

  it("gives the same greedy tokens and attribute probabilities within 1e-4", async () => {
    const { stdout } = await runTrainingModule("reference", ["--bundle", DEMO_MODEL_DIR, "--data", path.join(tmp, "data")]);
    const reference = JSON.parse(stdout) as ReferenceOutput[];
    expect(reference.map((r) => r.id)).toEqual(products.map((p) => p.id));

    const bundle = await loadBundle(DEMO_MODEL_DIR);
    try {
      const ours = await createDescriber(bundle, { batchSize: 8 }).describe(products);
      let worst = 0;
      ours.forEach((o, i) => {
        const ref = reference[i] as ReferenceOutput;
        expect(o.ok).toBe(true);
        if (!o.ok) return;
        expect(o.tokens).toEqual(ref.tokens);
        expect(o.description).toBe(ref.text);
        // The same serving policy: what the text states, and why a result goes to review.
        expect(Object.fromEntries(Object.entries(o.attributes).filter(([, a]) => a.stated).map(([n, a]) => [n, a.label]))).toEqual(ref.stated);
        expect(o.review.reasons).toEqual(ref.review);
        if (ref.familiarity === null) expect(o.familiarity).toBeNull();
        else worst = Math.max(worst, Math.abs((o.familiarity as number) - ref.familiarity) / Math.max(1, ref.familiarity));
        for (const [name, p] of Object.entries(o.probabilities)) {
          const q = ref.probs[name] as number[];
          expect(q).toHaveLength(p.length);
          p.forEach((v, j) => (worst = Math.max(worst, Math.abs(v - (q[j] as number)))));
        }
      });
      console.log(`max difference TypeScript vs PyTorch (probabilities; familiarity relative) over ${products.length} products: ${worst.toExponential(2)}`);
      expect(worst).toBeLessThan(1e-4);
    } finally {
      await bundle.close();
    }
  }, 180_000);
});
