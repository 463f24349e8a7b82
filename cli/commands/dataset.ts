import path from "node:path";
import { ConfigError } from "../../shared/errors/index.js";
import { readCsvCatalogue } from "../../models/dataset/csv-source.js";
import { writeDataset } from "../../models/dataset/dataset-writer.js";
import { SYNTHETIC_ATTRIBUTES, syntheticSource } from "../../models/dataset/synthetic-source.js";
import { parseFlags, positiveInt } from "../usage-error.js";

const HELP = `usage: facet dataset export --out DIR (--synthetic --seed N --products N | --csv FILE) [options]

Writes a facet-dataset/1 folder (models/FORMAT.md) for training or evaluation. Photos
are preprocessed by the runtime's own preprocessing.

  --synthetic         render the synthetic demo catalogue
  --seed N            catalogue seed (synthetic; default 1)
  --products N        products to render (synthetic; default 1000)
  --csv FILE          a labelled photo CSV (file, category, material, gemstone columns)
  --limit N           CSV: take N evenly spaced rows
  --image-size N      model input side in pixels (default 128)
  --out DIR           output folder (replaced)`;

export async function datasetCommand(args: string[]): Promise<number> {
  const [sub, ...rest] = args;
  if (sub !== "export") {
    if (sub === undefined || sub === "--help" || sub === "-h") {
      console.log(HELP);
      return sub === undefined ? 2 : 0;
    }
    throw new ConfigError(`facet dataset: unknown subcommand '${sub}' (expected: export)`);
  }
  const { values, positionals } = parseFlags("dataset export", rest, {
    out: { type: "string" },
    synthetic: { type: "boolean", default: false },
    seed: { type: "string", default: "1" },
    products: { type: "string", default: "1000" },
    csv: { type: "string" },
    limit: { type: "string" },
    "image-size": { type: "string" },
    concurrency: { type: "string" },
  });
  if (positionals.length > 0) throw new ConfigError(`facet dataset export: unexpected argument '${positionals[0]}'`);
  if (!values.out) throw new ConfigError("facet dataset export: --out DIR is required");
  if (values.synthetic === (values.csv !== undefined)) throw new ConfigError("facet dataset export: give exactly one of --synthetic or --csv FILE");
  const seed = Number(values.seed);
  if (!Number.isInteger(seed) || seed < 0) throw new ConfigError(`facet dataset export: --seed must be a non-negative integer, got '${values.seed}'`);
  const imageSize = positiveInt("dataset export", "image-size", values["image-size"], 128);
  const concurrency = positiveInt("dataset export", "concurrency", values.concurrency, 4);

  const started = performance.now();
  let source;
  if (values.synthetic) {
    const count = positiveInt("dataset export", "products", values.products, 1000);
    source = {
      attributes: SYNTHETIC_ATTRIBUTES,
      products: syntheticSource(seed, count, concurrency),
      description: { kind: "synthetic", generator: "models/catalogue", seed, products: count },
    };
  } else {
    const csv = path.resolve(values.csv as string);
    const limit = values.limit === undefined ? undefined : positiveInt("dataset export", "limit", values.limit, 1);
    const catalogue = await readCsvCatalogue(csv, limit === undefined ? {} : { limit });
    source = { ...catalogue, description: { kind: "csv", file: path.basename(csv) } };
  }
  const progress = (written: number, skipped: number) => {
    if ((written + skipped) % 500 === 0) process.stderr.write(`  ${written} products written, ${skipped} skipped\n`);
  };
  const summary = await writeDataset(
    { out: path.resolve(values.out), imageSize, attributes: source.attributes, source: source.description, onProgress: progress },
    source.products,
  );
  const seconds = (performance.now() - started) / 1000;
  console.log(
    `wrote ${summary.products} products (${summary.images} photos) to ${values.out} in ${seconds.toFixed(1)} s` +
      (Object.keys(summary.skipped).length ? `; skipped ${JSON.stringify(summary.skipped)}` : ""),
  );
  return 0;
}
