/**
 * The whole model pipeline on tiny data: render → dataset export (TypeScript) → a few training
 * steps → ONNX export, checked against PyTorch by the export itself (through the runtime's ONNX
 * engine) → load the bundle in TypeScript → generate text. Every torchvision backbone goes through
 * training and export with random weights (only mobilenet_v2 has real weights here, in ../shared).
 * Needs Debian's python3-torch and python3-torchvision (.ci/run installs them).
 */
import { existsSync } from "node:fs";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readCsvCatalogue } from "../models/dataset/csv-source.js";
import { writeDataset } from "../models/dataset/dataset-writer.js";
import { readLabelsMap } from "../models/dataset/labels-map.js";
import { SYNTHETIC_ATTRIBUTES, syntheticSource } from "../models/dataset/synthetic-source.js";
import { generateCatalogue } from "../models/catalogue/index.js";
import { loadBundle } from "../models/runtime/bundle.js";
import { createDescriber } from "../models/runtime/describer.js";
import { pythonTorchMissing, REPO_ROOT, runTrainingModule } from "./helpers/python.js";

/** Real photos and an ImageNet-pretrained backbone beside the repository (CI has them; a fresh clone does not). */
const SHARED = path.join(REPO_ROOT, "../shared");
const REAL_CSV = path.join(SHARED, "datasets/jewellery-photos/labels.csv");
const PRETRAINED = path.join(SHARED, "pretrained/mobilenet_v2-imagenet-dequantized.pth");
const sharedMissing = existsSync(REAL_CSV) && existsSync(PRETRAINED) ? undefined : `${SHARED} (real photos, pretrained weights) is not here`;
if (sharedMissing) console.warn(`skipping the pretrained-backbone training test: ${sharedMissing}`);

const missing = pythonTorchMissing();
if (missing) console.warn(`skipping the training pipeline test: ${missing}`);

const TINY_SCRATCH = ["--backbone", "scratch", "--widths", "8,8,16,16,16", "--d-model", "32", "--heads", "2", "--batch-size", "8", "--progress-seconds", "0"];

describe.skipIf(missing !== undefined)("training pipeline (tiny)", () => {
  let tmp: string;
  let tiny64: string;
  beforeAll(async () => {
    tmp = await mkdtemp(path.join(os.tmpdir(), "facet-train-"));
    tiny64 = path.join(tmp, "tiny64");
    await writeDataset({ out: tiny64, imageSize: 64, attributes: SYNTHETIC_ATTRIBUTES, source: { kind: "synthetic", seed: 7, products: 24 }, split: { val: 0.25, test: 0.1 } }, syntheticSource(7, 24));
  });
  afterAll(async () => {
    await rm(tmp, { recursive: true, force: true });
  });

  it("trains a few steps, exports a verified bundle, and the TypeScript runtime writes text that states only the heads' labels", async () => {
    const data = path.join(tmp, "data");
    const summary = await writeDataset({ out: data, attributes: SYNTHETIC_ATTRIBUTES, source: { kind: "synthetic", seed: 5, products: 24 } }, syntheticSource(5, 24));
    expect(summary.products).toBe(24);
    expect(summary.splits.train + summary.splits.val + summary.splits.test).toBe(24);

    const run = path.join(tmp, "run");
    await runTrainingModule("train", ["--data", data, "--out", run, "--max-steps", "4", "--epochs", "1", "--seed", "3", ...TINY_SCRATCH]);
    const bundleDir = path.join(tmp, "bundle");
    const exported = await runTrainingModule("export", ["--run", run, "--out", bundleDir, "--name", "tiny", "--version", "0.0.1"]);
    // The export ran the ONNX graphs against PyTorch's outputs and would have failed otherwise.
    expect(`${exported.stdout}${exported.stderr}`).toMatch(/export verified/);

    const manifest = JSON.parse(await readFile(path.join(bundleDir, "manifest.json"), "utf8"));
    expect(manifest.training.dataset.source).toMatchObject({ kind: "synthetic", seed: 5 });
    expect(manifest.encoder.familiarity).toBe("familiarity");
    expect(manifest.familiarity.threshold).toBeGreaterThan(0);
    const tokenizer = JSON.parse(await readFile(path.join(bundleDir, "tokenizer.json"), "utf8"));
    expect(Object.keys(tokenizer.slots).sort()).toEqual(["category", "finish", "gemstone", "metal", "setting", "style"]);

    const bundle = await loadBundle(bundleDir);
    try {
      const products = [];
      for await (const { product, photos } of generateCatalogue({ seed: 6, count: 3 })) products.push({ id: product.id, photos });
      const out = await createDescriber(bundle, { review: { threshold: 0, attributes: [] } }).describe(products);
      for (const o of out) {
        expect(o.ok).toBe(true);
        if (!o.ok) continue;
        expect(o.tokens.length).toBeGreaterThan(0);
        expect(o.tokens.length).toBeLessThanOrEqual(manifest.decoder.max_length);
        expect(o.model).toEqual({ name: "tiny", version: "0.0.1" });
        expect(typeof o.familiarity).toBe("number");
        // Whatever an untrained decoder writes, a label can only enter the text through its slot.
        const stated = new Set(Object.values(o.attributes).filter((a) => a.stated).map((a) => a.label));
        for (const attribute of bundle.manifest.attributes) {
          for (const label of attribute.labels) {
            if (label !== "none" && new RegExp(`\\b${label}\\b`, "i").test(o.description)) expect(stated.has(label)).toBe(true);
          }
        }
      }
    } finally {
      await bundle.close();
    }
  }, 300_000);

  it.each(["mobilenet_v2", "mobilenet_v3_large", "efficientnet_b0", "resnet50", "convnext_tiny"])(
    "trains and exports a verified bundle with the %s backbone (random weights)",
    async (backbone) => {
      const run = path.join(tmp, `run-${backbone}`);
      const args = ["--data", tiny64, "--out", run, "--backbone", backbone, "--backbone-weights", "random", "--warmup-epochs", "1", "--epochs", "1"];
      await runTrainingModule("train", [...args, "--max-steps", "2", "--batch-size", "4", "--d-model", "32", "--heads", "2", "--progress-seconds", "0"]);
      const bundleDir = path.join(tmp, `bundle-${backbone}`);
      const exported = await runTrainingModule("export", ["--run", run, "--out", bundleDir, "--name", `tiny-${backbone.replace(/_/g, "-")}`, "--version", "0.0.1"]);
      expect(`${exported.stdout}${exported.stderr}`).toMatch(/export verified/);
      const training = JSON.parse(await readFile(path.join(run, "training.json"), "utf8"));
      expect(training.backbone).toBe(backbone);
      expect(training.hyperparameters.phases.map((p: { backbone: string }) => p.backbone)).toEqual(["frozen", "trained"]);
    },
    300_000,
  );

  it.skipIf(sharedMissing !== undefined)("trains on real photos with the pretrained MobileNetV2 backbone from a local weights file", async () => {
    const data = path.join(tmp, "real");
    const catalogue = await readCsvCatalogue(REAL_CSV, await readLabelsMap(), { limit: 48 });
    const summary = await writeDataset({ out: data, imageSize: 224, attributes: catalogue.attributes, source: catalogue.description }, catalogue.products);
    expect(summary.products).toBeGreaterThan(40);

    const run = path.join(tmp, "real-run");
    const trained = await runTrainingModule("train", ["--data", data, "--out", run, "--max-steps", "2", "--batch-size", "8", "--backbone-weights", PRETRAINED, "--progress-seconds", "0"]);
    expect(trained.stdout).toMatch(/backbone mobilenet_v2 \(weights .*mobilenet_v2-imagenet-dequantized\.pth\)/);
    const bundleDir = path.join(tmp, "real-bundle");
    await runTrainingModule("export", ["--run", run, "--out", bundleDir, "--name", "real-tiny", "--version", "0.0.1"]);
    const bundle = await loadBundle(bundleDir);
    try {
      expect(bundle.manifest.attributes.find((a) => a.name === "category")?.labels).toContain("watch");
      expect(bundle.manifest.preprocessing.image_size).toBe(224);
    } finally {
      await bundle.close();
    }
  }, 300_000);
});
