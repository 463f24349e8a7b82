import { existsSync } from "node:fs";
import path from "node:path";
import { loadConfig } from "../../shared/config/config.js";
import { ConfigError } from "../../shared/errors/index.js";
import { openObjectStore, openWritableObjectStore } from "../../shared/storage/object-store.js";
import { readEvaluationReport } from "../../models/card/evaluation-report.js";
import { manifestSchema } from "../../models/runtime/manifest.js";
import { listModelVersions, MANIFEST_FILE } from "../../shared/model-store/model-store.js";
import { isPreRelease } from "../../shared/model-store/model-version.js";
import { publishVersion } from "../../shared/model-store/publish-version.js";
import { runTrainingModule } from "../python.js";
import { Services } from "../services.js";
import { dispatch, parseFlags } from "../usage-error.js";

const HELP = `usage: facet model <command> [options]   (Python training underneath, live progress)

  train --data DIR --out DIR [--backbone B] [--backbone-weights FILE] [--name NAME]
        [--epochs N] [--warmup-epochs N] [--lr X] [--batch-size N] [--max-steps N] [--seed N] [--threads N]
        trains on a facet dataset (facet dataset export) and writes OUT/bundle (and OUT/run:
        checkpoints, training.json). Backbone: mobilenet_v2 (default), mobilenet_v3_large,
        efficientnet_b0, resnet50, convnext_tiny or scratch; ImageNet weights from FILE or from
        torchvision's cache folder (nothing is downloaded)
  evaluate BUNDLE --data DIR [--split test|val|train|all] [--labels-map FILE] [--out FILE] [--json]
        per attribute accuracy, macro-F1, per-class precision/recall, confusion matrix and
        calibration error; the share sent to review and the accuracy of the rest (at
        REVIEW_THRESHOLD); writes the report (default BUNDLE.evaluation.json), never the bundle
  publish BUNDLE --version X [--evaluation FILE]
        copies the bundle into MODEL_STORE as version X with its lineage and a model card;
        refuses an existing version and a bundle whose files do not match their sha256
  list [--json]
        the versions in MODEL_STORE with their headline figures`;

export async function modelCommand(args: string[]): Promise<number> {
  return dispatch("model", HELP, { train, evaluate, publish, list }, args);
}

/** Python's exit status as the CLI's: 2 (usage) stays 2, any other failure is 1. */
const status = (code: number) => (code === 0 ? 0 : code === 2 ? 2 : 1);

async function train(args: string[]): Promise<number> {
  const passed = ["backbone", "backbone-weights", "epochs", "warmup-epochs", "lr", "batch-size", "max-steps", "seed", "threads"] as const;
  const { values, positionals } = parseFlags("model train", args, {
    data: { type: "string" },
    out: { type: "string" },
    name: { type: "string", default: "facet" },
    ...Object.fromEntries(passed.map((flag) => [flag, { type: "string" as const }])),
  });
  if (positionals.length) throw new ConfigError(`facet model train: unexpected argument '${positionals[0]}'`);
  if (!values.data) throw new ConfigError("facet model train: --data DIR is required (a folder written by facet dataset export)");
  if (!values.out) throw new ConfigError("facet model train: --out DIR is required");
  const data = path.resolve(values.data);
  if (!existsSync(path.join(data, "dataset.json"))) throw new ConfigError(`facet model train: --data: ${path.join(data, "dataset.json")} not found`);
  const out = path.resolve(values.out);
  const run = path.join(out, "run");
  const bundle = path.join(out, "bundle");
  const trainArgs = ["--data", data, "--out", run];
  for (const flag of passed) {
    const value = (values as Record<string, string | undefined>)[flag];
    if (value === undefined) continue;
    trainArgs.push(`--${flag}`, flag === "backbone-weights" && value !== "random" ? path.resolve(value) : value);
  }
  const trained = await runTrainingModule("train", trainArgs);
  if (trained !== 0) return status(trained);
  // Unpublished: `facet model publish` gives the bundle its version.
  const exported = await runTrainingModule("export", ["--run", run, "--out", bundle, "--name", values.name as string, "--version", "0.0.0-dev"]);
  if (exported !== 0) return status(exported);
  console.log(`bundle: ${bundle}\nnext: facet model evaluate ${bundle} --data ${data}`);
  return 0;
}

async function evaluate(args: string[]): Promise<number> {
  const { values, positionals } = parseFlags("model evaluate", args, {
    data: { type: "string" },
    split: { type: "string" },
    "labels-map": { type: "string" },
    out: { type: "string" },
    json: { type: "boolean", default: false },
    threads: { type: "string" },
  });
  const [bundle, extra] = positionals;
  if (!bundle || extra !== undefined) throw new ConfigError("facet model evaluate: give one BUNDLE folder (see facet model --help)");
  if (!values.data) throw new ConfigError("facet model evaluate: --data DIR is required");
  const config = loadConfig();
  const pyArgs = ["--bundle", path.resolve(bundle), "--data", path.resolve(values.data), "--review-threshold", String(config.REVIEW_THRESHOLD), "--review-attributes", config.REVIEW_ATTRIBUTES.join(",")];
  if (values.split) pyArgs.push("--split", values.split);
  if (values["labels-map"]) pyArgs.push("--labels-map", path.resolve(values["labels-map"]));
  if (values.out) pyArgs.push("--out", path.resolve(values.out));
  if (values.threads) pyArgs.push("--threads", values.threads);
  if (values.json) pyArgs.push("--json");
  return status(await runTrainingModule("evaluate", pyArgs));
}

/** Where `facet model evaluate` writes a bundle's report by default: beside the bundle folder. */
export function defaultReportFile(bundle: string): string {
  const dir = path.resolve(bundle);
  return path.join(path.dirname(dir), `${path.basename(dir)}.evaluation.json`);
}

async function publish(args: string[]): Promise<number> {
  const { values, positionals } = parseFlags("model publish", args, { version: { type: "string" }, evaluation: { type: "string" }, json: { type: "boolean", default: false } });
  const [bundle, extra] = positionals;
  if (!bundle || extra !== undefined) throw new ConfigError("facet model publish: give one BUNDLE folder (see facet model --help)");
  if (!values.version) throw new ConfigError("facet model publish: --version X is required");
  const reportFile = path.resolve(values.evaluation ?? defaultReportFile(bundle));
  if (!existsSync(reportFile)) {
    throw new ConfigError(`facet model publish: no evaluation report at ${reportFile}: run facet model evaluate ${bundle} --data DIR first (or give --evaluation FILE)`);
  }
  const report = await readEvaluationReport(reportFile);
  const services = new Services("cli");
  const store = openWritableObjectStore(services.config.MODEL_STORE, { ...services.s3, access: "bundles" });
  try {
    const published = await publishVersion({ bundleDir: path.resolve(bundle), version: values.version, report, reportFile, store });
    if (values.json) console.log(JSON.stringify(published));
    else console.log(`published ${bundle} as ${published.version} in ${services.config.MODEL_STORE} (${published.files.length} files, ${(published.bytes / 1e6).toFixed(1)} MB, with MODEL_CARD.md)`);
    return 0;
  } finally {
    store.close();
    await services.close();
  }
}

async function list(args: string[]): Promise<number> {
  const { values, positionals } = parseFlags("model list", args, { json: { type: "boolean", default: false } });
  if (positionals.length) throw new ConfigError(`facet model list: unexpected argument '${positionals[0]}'`);
  const services = new Services("cli");
  const source = openObjectStore(services.config.MODEL_STORE, { ...services.s3, access: "bundles" });
  try {
    const versions = await listModelVersions(source);
    const latest = versions.filter((v) => !isPreRelease(v)).at(-1);
    const rows = await Promise.all(
      versions.map(async (version) => {
        const manifest = manifestSchema.parse(JSON.parse(Buffer.from(await source.get(`${version}/${MANIFEST_FILE}`)).toString("utf8")));
        const evaluation = (manifest.evaluation ?? {}) as { attributes?: Record<string, { accuracy?: number | null }>; review?: { share?: number | null }; split?: string };
        const source_ = ((manifest.training?.dataset as { source?: { kind?: string } } | undefined)?.source ?? {}).kind ?? "?";
        return {
          version,
          name: manifest.name,
          created_at: manifest.created_at ?? null,
          latest: version === latest,
          data: source_,
          backbone: (manifest.training?.backbone as string | undefined) ?? null,
          category: evaluation.attributes?.category?.accuracy ?? null,
          metal: evaluation.attributes?.metal?.accuracy ?? null,
          review_share: evaluation.review?.share ?? null,
        };
      }),
    );
    if (values.json) console.log(JSON.stringify(rows, null, 2));
    else {
      const pct = (v: number | null) => (v === null ? "-" : `${(100 * v).toFixed(1)}%`);
      console.log(`${"version".padEnd(14)} ${"name".padEnd(14)} ${"created".padEnd(20)} ${"data".padEnd(10)} ${"backbone".padEnd(13)} ${"category".padStart(8)} ${"metal".padStart(7)} ${"review".padStart(7)}`);
      for (const r of rows) {
        console.log(
          `${r.version.padEnd(14)} ${r.name.padEnd(14)} ${(r.created_at ?? "-").slice(0, 19).padEnd(20)} ${r.data.padEnd(10)} ${(r.backbone ?? "-").padEnd(13)} ${pct(r.category).padStart(8)} ${pct(r.metal).padStart(7)} ${pct(r.review_share).padStart(7)}${r.latest ? "  latest" : ""}`,
        );
      }
      if (rows.length === 0) console.log(`(${services.config.MODEL_STORE} holds no versions)`);
    }
    return 0;
  } finally {
    source.close();
    await services.close();
  }
}

