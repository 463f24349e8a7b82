import { createHash } from "node:crypto";
import { readFile } from "node:fs/promises";
import path from "node:path";
import { ConfigError } from "../errors/index.js";
import { retryTransient } from "../errors/retry-transient.js";
import type { WritableObjectStore } from "../storage/object-store.js";
import { evaluationSummary, type EvaluationReport } from "../../models/card/evaluation-report.js";
import { modelCard } from "../../models/card/model-card.js";
import { loadBundle } from "../../models/runtime/bundle.js";
import type { Manifest } from "../../models/runtime/manifest.js";
import { listModelVersions, MANIFEST_FILE } from "./model-store.js";
import { checkVersionName } from "./model-version.js";

export const MODEL_CARD_FILE = "MODEL_CARD.md";

export interface PublishOptions {
  /** The bundle folder to publish (as `facet model train` wrote it). */
  bundleDir: string;
  version: string;
  /** `facet model evaluate`'s report on data the bundle never trained on. */
  report: EvaluationReport;
  /** Where the report was read from (recorded in the lineage). */
  reportFile: string;
  /** MODEL_STORE, to list versions and write the new one. */
  store: WritableObjectStore;
}

export interface PublishedVersion {
  version: string;
  files: string[];
  bytes: number;
}

/**
 * `facet model publish`: copy a verified bundle into MODEL_STORE as `<version>/`, with its
 * manifest renamed to `version` and given its lineage (dataset hash, training settings, the
 * evaluation), and a model card. Versions are immutable: an existing one is refused. The
 * manifest is written last, so a version exists for workers only once all its files are there
 * (a half-published folder is not a version: `listModelVersions`).
 */
export async function publishVersion(options: PublishOptions): Promise<PublishedVersion> {
  const version = checkVersionName(options.version);
  const bundle = await loadBundle(options.bundleDir); // every file against its sha256, the graphs against the manifest
  const manifest = bundle.manifest;
  await bundle.close();
  checkReport(manifest, options.report, options.reportFile);
  const existing = await listModelVersions(options.store);
  if (existing.includes(version)) {
    throw new ConfigError(`model version ${version} already exists in ${options.store.url}: published versions never change; publish under a new version`);
  }

  const card = Buffer.from(modelCard(manifest, version, options.report));
  const files = new Map<string, Uint8Array>();
  for (const name of Object.keys(manifest.files)) {
    if (name === MODEL_CARD_FILE) continue;
    files.set(name, await readFile(path.join(options.bundleDir, name)));
  }
  files.set(MODEL_CARD_FILE, card);
  const published: Manifest = {
    ...manifest,
    version,
    files: Object.fromEntries([...files].map(([name, bytes]) => [name, { sha256: sha256(bytes), bytes: bytes.byteLength }])),
    evaluation: evaluationSummary(options.report),
    lineage: lineage(manifest, options),
  };
  const put = (name: string, bytes: Uint8Array) => retryTransient(() => options.store.put(`${version}/${name}`, bytes), { attempts: 4 });
  await Promise.all([...files].map(([name, bytes]) => put(name, bytes)));
  const manifestBytes = Buffer.from(`${JSON.stringify(published, null, 2)}\n`);
  await put(MANIFEST_FILE, manifestBytes);
  return { version, files: [...files.keys(), MANIFEST_FILE], bytes: [...files.values()].reduce((s, b) => s + b.byteLength, manifestBytes.byteLength) };
}

/**
 * The report must be of this bundle (its graphs' hashes) and on data it did not train on: the
 * test split of its own training dataset, or another dataset altogether.
 */
function checkReport(manifest: Manifest, report: EvaluationReport, file: string): void {
  for (const name of [manifest.encoder.file, manifest.decoder.file]) {
    const reported = report.bundle.files[name]?.sha256;
    if (reported !== manifest.files[name]?.sha256) {
      throw new ConfigError(`evaluation report ${file} is of another bundle (its ${name} hashes differently); evaluate this one: facet model evaluate BUNDLE --data DIR`);
    }
  }
  const trainedOn = ((manifest.training?.dataset ?? {}) as { hash?: string }).hash;
  if (trainedOn && report.dataset.hash === trainedOn && report.split !== "test") {
    throw new ConfigError(`evaluation report ${file} measures the ${report.split} split of the training data; publish with an evaluation on its test split or on other data`);
  }
}

function lineage(manifest: Manifest, options: PublishOptions): Record<string, unknown> {
  const training = (manifest.training ?? {}) as Record<string, unknown>;
  const dataset = (training.dataset ?? {}) as Record<string, unknown>;
  return {
    published_at: new Date().toISOString(),
    bundle: { path: path.resolve(options.bundleDir), name: manifest.name, version: manifest.version, created_at: manifest.created_at },
    dataset: { hash: dataset.hash ?? null, source: dataset.source ?? null, splits: dataset.splits ?? null },
    training: {
      backbone: training.backbone,
      backbone_weights: training.backbone_weights ?? null,
      seed: training.seed,
      epochs: training.epochs,
      best_epoch: training.best_epoch,
      seconds: training.seconds,
      hyperparameters: training.hyperparameters,
    },
    evaluation: { report: path.resolve(options.reportFile), created_at: options.report.created_at, dataset_hash: options.report.dataset.hash, split: options.report.split },
  };
}

function sha256(bytes: Uint8Array): string {
  return createHash("sha256").update(bytes).digest("hex");
}

