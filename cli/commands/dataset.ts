import path from "node:path";
import { ConfigError } from "../../shared/errors/index.js";
import { openObjectStore } from "../../shared/storage/object-store.js";
import { readCatalogueDataset } from "../../models/dataset/catalogue-source.js";
import { readReviewedDataset } from "../../models/dataset/reviewed-source.js";
import { readCsvCatalogue } from "../../models/dataset/csv-source.js";
import { writeDataset, type DatasetSummary, type SourceProduct } from "../../models/dataset/dataset-writer.js";
import { DEFAULT_SPLIT_SHARES, type Split, type SplitShares } from "../../models/dataset/dataset-split.js";
import { DEFAULT_LABELS_MAP, readLabelsMap } from "../../models/dataset/labels-map.js";
import { SYNTHETIC_ATTRIBUTES, syntheticSource } from "../../models/dataset/synthetic-source.js";
import { progressBar } from "../progress-bar.js";
import { Services } from "../services.js";
import { parseFlags, positiveInt } from "../usage-error.js";

const HELP = `usage: facet dataset export --out DIR (--catalogue | --csv FILE | --synthetic) [options]

Writes a facet-dataset/1 folder (models/FORMAT.md) for training and evaluation: photos through
the runtime's own preprocessing, labels mapped to the label set, a house-style reference text
per product built from its labels (the artisan's text kept beside it), duplicate photos grouped
so they never straddle splits, and a train/val/test split by a hash of each group.

  --catalogue            the marketplace: products of the labels relation that are in the
                         catalogue (CATALOGUE_RELATION), photos from IMAGE_STORE
  --reviewed             with --catalogue: the products the catalogue team reviewed instead
                         (facet serve's console and API): the latest approved or edited text
                         is the reference, the labels they saw or corrected are the labels
  --labels-relation R    [schema.]relation: product_id + one text column per attribute
                         (default $LABELS_RELATION, facet_demo.product_labels)
  --csv FILE             a labelled photo CSV (file, attribute columns, optional caption/source)
  --limit N              CSV: take N evenly spaced rows
  --synthetic            render the synthetic demo catalogue (--seed N, --products N)
  --labels-map FILE      facet-labels-map/1 file (default: models/dataset/labels-map.default.json)
  --image-size N         model input side in pixels: 224 (default; catalogue and CSV) or 128
                         (default for --synthetic, the demo model's)
  --split S              auto (default: by duplicate group), or train, val or test for every product
  --val-share F          share of groups in the validation split (default 0.15)
  --test-share F         share of groups in the test split (default 0.15)
  --out DIR              output folder (replaced)`;

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
    catalogue: { type: "boolean", default: false },
    reviewed: { type: "boolean", default: false },
    "labels-relation": { type: "string" },
    csv: { type: "string" },
    limit: { type: "string" },
    synthetic: { type: "boolean", default: false },
    seed: { type: "string", default: "1" },
    products: { type: "string", default: "1000" },
    "labels-map": { type: "string" },
    "image-size": { type: "string" },
    split: { type: "string", default: "auto" },
    "val-share": { type: "string" },
    "test-share": { type: "string" },
    concurrency: { type: "string" },
  });
  if (positionals.length > 0) throw new ConfigError(`facet dataset export: unexpected argument '${positionals[0]}'`);
  if (!values.out) throw new ConfigError("facet dataset export: --out DIR is required");
  const kinds = [values.catalogue, values.csv !== undefined, values.synthetic].filter(Boolean).length;
  if (kinds !== 1) throw new ConfigError("facet dataset export: give exactly one of --catalogue, --csv FILE or --synthetic");
  if (values.reviewed && !values.catalogue) throw new ConfigError("facet dataset export: --reviewed goes with --catalogue (the reviews of the catalogue's products)");
  if (values.reviewed && values["labels-relation"] !== undefined) throw new ConfigError("facet dataset export: --labels-relation does not apply to --reviewed (the labels come from the reviews)");
  const split = splitFlag(values.split as string, values["val-share"], values["test-share"]);
  const imageSize = positiveInt("dataset export", "image-size", values["image-size"], values.synthetic ? 128 : 224);
  if (imageSize % 32 !== 0) throw new ConfigError(`facet dataset export: --image-size must be a multiple of 32 (the backbones' stride), got ${imageSize}`);
  const concurrency = positiveInt("dataset export", "concurrency", values.concurrency, 4);
  const out = path.resolve(values.out);
  const started = performance.now();

  if (values.synthetic) {
    const seed = Number(values.seed);
    if (!Number.isInteger(seed) || seed < 0) throw new ConfigError(`facet dataset export: --seed must be a non-negative integer, got '${values.seed}'`);
    const count = positiveInt("dataset export", "products", values.products, 1000);
    const source = { kind: "synthetic", generator: "models/catalogue", seed, products: count, licence: "generated by Facet" };
    return report(out, started, await write(out, imageSize, split, SYNTHETIC_ATTRIBUTES, source, syntheticSource(seed, count, concurrency), count));
  }
  const map = await readLabelsMap(values["labels-map"] ? path.resolve(values["labels-map"]) : DEFAULT_LABELS_MAP);
  if (values.csv !== undefined) {
    const limit = values.limit === undefined ? undefined : positiveInt("dataset export", "limit", values.limit, 1);
    const csv = await readCsvCatalogue(path.resolve(values.csv), map, limit === undefined ? {} : { limit });
    announce(csv.attributes, csv.dropped);
    return report(out, started, await write(out, imageSize, split, csv.attributes, csv.description, csv.products, Number(csv.description.rows)));
  }
  const services = new Services("cli");
  try {
    const labels = values["labels-relation"] ?? services.config.LABELS_RELATION;
    if (!/^([a-z_][a-z0-9_]*\.)?[a-z_][a-z0-9_]*$/.test(labels)) throw new ConfigError(`facet dataset export: --labels-relation must be [schema.]name, got '${labels}'`);
    const images = openObjectStore(services.config.IMAGE_STORE, { ...services.s3, access: "photos" });
    if (values.reviewed) {
      const reviewed = await readReviewedDataset(services.ledger, images, map, { fetchTimeoutMs: services.config.FETCH_TIMEOUT_MS });
      if (reviewed.total === 0) throw new ConfigError("facet dataset export --reviewed: no product has an approved or edited review yet (facet serve: /console/review)");
      announce(reviewed.attributes, reviewed.dropped);
      try {
        return report(out, started, await write(out, imageSize, split, reviewed.attributes, reviewed.description, reviewed.products, reviewed.total));
      } finally {
        images.close();
      }
    }
    const catalogue = await readCatalogueDataset({ db: services.db, catalogue: services.config.CATALOGUE_RELATION, labels }, images, map, {
      fetchTimeoutMs: services.config.FETCH_TIMEOUT_MS,
    }).finally(() => images.close());
    announce(catalogue.attributes, catalogue.dropped);
    return report(out, started, await write(out, imageSize, split, catalogue.attributes, catalogue.description, catalogue.products, catalogue.total));
  } finally {
    await services.close();
  }
}

function splitFlag(split: string, valShare: string | undefined, testShare: string | undefined): SplitShares | Split {
  if (split === "train" || split === "val" || split === "test") {
    if (valShare !== undefined || testShare !== undefined) throw new ConfigError(`facet dataset export: --val-share and --test-share only apply to --split auto`);
    return split;
  }
  if (split !== "auto") throw new ConfigError(`facet dataset export: --split must be auto, train, val or test, got '${split}'`);
  const share = (flag: string, value: string | undefined, fallback: number) => {
    if (value === undefined) return fallback;
    const n = Number(value);
    if (!Number.isFinite(n) || n < 0 || n >= 1) throw new ConfigError(`facet dataset export: --${flag} must be a number in [0, 1), got '${value}'`);
    return n;
  };
  const shares = { val: share("val-share", valShare, DEFAULT_SPLIT_SHARES.val), test: share("test-share", testShare, DEFAULT_SPLIT_SHARES.test) };
  if (shares.val + shares.test >= 1) throw new ConfigError(`facet dataset export: --val-share + --test-share must leave products to train on, got ${shares.val + shares.test}`);
  return shares;
}

function announce(attributes: ReadonlyArray<{ name: string; labels: readonly string[] }>, dropped: Record<string, string>): void {
  const heads = attributes.map((a) => `${a.name} (${a.labels.join(", ")})`).join("; ");
  const none = Object.entries(dropped).map(([name, why]) => `${name}: ${why}`);
  process.stderr.write(`attributes: ${heads}${none.length ? `; no head for ${none.join(", ")}` : ""}\n`);
}

async function write(
  out: string,
  imageSize: number,
  split: SplitShares | Split,
  attributes: ReadonlyArray<{ name: string; labels: readonly string[] }>,
  source: Record<string, unknown>,
  products: AsyncIterable<SourceProduct>,
  total: number,
): Promise<DatasetSummary> {
  const bar = progressBar("exporting", total);
  const summary = await writeDataset({ out, imageSize, attributes, source, split, onProgress: ({ written, skipped }) => bar.update(written + skipped, skipped ? `skipped ${skipped}` : "") }, products);
  bar.finish();
  return summary;
}

function report(out: string, started: number, s: DatasetSummary): number {
  const seconds = (performance.now() - started) / 1000;
  const skipped = Object.entries(s.skipped).map(([reason, n]) => `${reason} ${n}`);
  const conflicts = Object.entries(s.labelConflicts).map(([name, n]) => `${name} ${n}`);
  console.log(
    [
      `wrote ${s.products} products (${s.images} photos) to ${out} in ${seconds.toFixed(1)} s`,
      `  splits: train ${s.splits.train} · val ${s.splits.val} · test ${s.splits.test}`,
      `  duplicates: ${s.duplicates.products} products share a photo with another (kept in one split; ${s.duplicates.groups} groups in all)`,
      ...(conflicts.length ? [`  labels made unknown where the same photo carries another label: ${conflicts.join(", ")}`] : []),
      ...(skipped.length ? [`  skipped (photo could not be used): ${skipped.join(", ")}`] : []),
    ].join("\n"),
  );
  return 0;
}
