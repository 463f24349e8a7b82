/**
 * The whole model pipeline on a tiny synthetic set: render → dataset export (TypeScript) →
 * a few training steps → ONNX export, checked against PyTorch by the export itself →
 * load the bundle in TypeScript → generate text. Needs Debian's python3-torch (.ci/run installs it).
 */
import { mkdtemp, readFile, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { writeDataset } from "../models/dataset/dataset-writer.js";
import { SYNTHETIC_ATTRIBUTES, syntheticSource } from "../models/dataset/synthetic-source.js";
import { loadBundle } from "../models/runtime/bundle.js";
import { createDescriber } from "../models/runtime/describer.js";
import { generateCatalogue } from "../models/catalogue/index.js";
import { existsSync } from "node:fs";
import { readCsvCatalogue } from "../models/dataset/csv-source.js";
import { pythonTorchMissing, REPO_ROOT, runTrainingModule } from "./helpers/python.js";

/** Real photos and an ImageNet-pretrained backbone beside the repository (CI has them; a fresh clone does not). */
const SHARED = path.join(REPO_ROOT, "../shared");
const REAL_CSV = path.join(SHARED, "datasets/jewellery-photos/labels.csv");
const PRETRAINED = path.join(SHARED, "pretrained/mobilenet_v2-imagenet-dequantized.pth");
const sharedMissing = existsSync(REAL_CSV) && existsSync(PRETRAINED) ? undefined : `${SHARED} (real photos, pretrained weights) is not here`;
if (sharedMissing) console.warn(`skipping the pretrained-backbone training test: ${sharedMissing}`);

const missing = pythonTorchMissing();
if (missing) console.warn(`skipping the training pipeline test: ${missing}`);

describe.skipIf(missing !== undefined)("training pipeline (tiny)", () => {
  let tmp: string;
  beforeAll(async () => {
    tmp = await mkdtemp(path.join(os.tmpdir(), "facet-train-"));
  });
  afterAll(async () => {
    await rm(tmp, { recursive: true, force: true });
  });

  it("trains a few steps, exports a verified bundle, and the TypeScript runtime generates text with it", async () => {
    const data = path.join(tmp, "data");
    const summary = await writeDataset(
      { out: data, attributes: SYNTHETIC_ATTRIBUTES, source: { kind: "synthetic", seed: 5, products: 24 } },
      syntheticSource(5, 24),
    );
    expect(summary.products).toBe(24);

    const run = path.join(tmp, "run");
    await runTrainingModule("train", ["--data", data, "--out", run, "--max-steps", "4", "--batch-size", "8", "--epochs", "1", "--seed", "3"]);
    const bundleDir = path.join(tmp, "bundle");
    const exported = await runTrainingModule("export", ["--run", run, "--out", bundleDir, "--name", "tiny", "--version", "0.0.1"]);
    // The export ran the ONNX graphs against PyTorch's outputs and would have failed otherwise.
    expect(`${exported.stdout}${exported.stderr}`).toMatch(/ok/);

    const manifest = JSON.parse(await readFile(path.join(bundleDir, "manifest.json"), "utf8"));
    expect(manifest.training.dataset.products ?? manifest.training.dataset.source).toBeTruthy();

    const bundle = await loadBundle(bundleDir);
    try {
      const products = [];
      for await (const { product, photos } of generateCatalogue({ seed: 6, count: 3 })) products.push({ id: product.id, photos });
      const out = await createDescriber(bundle).describe(products);
      for (const o of out) {
        expect(o.ok).toBe(true);
        if (!o.ok) continue;
        expect(o.tokens.length).toBeGreaterThan(0);
        expect(o.tokens.length).toBeLessThanOrEqual(manifest.decoder.max_length);
        expect(typeof o.description).toBe("string");
        expect(o.model).toEqual({ name: "tiny", version: "0.0.1" });
      }
    } finally {
      await bundle.close();
    }
  }, 300_000);

  it.skipIf(sharedMissing !== undefined)("trains on real photos with the pretrained MobileNetV2 backbone from a local weights file", async () => {
    const data = path.join(tmp, "real");
    const catalogue = await readCsvCatalogue(REAL_CSV, { limit: 32 });
    const summary = await writeDataset({ out: data, attributes: catalogue.attributes, source: { kind: "csv", limit: 32 } }, catalogue.products);
    expect(summary.products).toBeGreaterThan(20);

    const run = path.join(tmp, "real-run");
    const trained = await runTrainingModule("train", [
      "--data", data, "--out", run, "--max-steps", "2", "--batch-size", "8", "--epochs", "1",
      "--backbone", "mobilenet_v2", "--backbone-weights", PRETRAINED,
    ]);
    expect(`${trained.stdout}${trained.stderr}`).toMatch(/mobilenet_v2|epoch/);
    const bundleDir = path.join(tmp, "real-bundle");
    await runTrainingModule("export", ["--run", run, "--out", bundleDir, "--name", "real-tiny", "--version", "0.0.1"]);
    const bundle = await loadBundle(bundleDir);
    try {
      expect(bundle.manifest.attributes.find((a) => a.name === "category")?.labels).toContain("watch");
    } finally {
      await bundle.close();
    }
  }, 300_000);
});
