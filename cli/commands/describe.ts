import { readFile } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { ConfigError } from "../../shared/errors/index.js";
import { loadBundle } from "../../models/runtime/bundle.js";
import { createDescriber, DEFAULT_BATCH_SIZE, type ProductOutcome, type ProductPhotos } from "../../models/runtime/describer.js";
import type { SessionSettings } from "../../models/runtime/session-settings.js";
import { parseFlags, positiveInt } from "../usage-error.js";

/** The demo bundle shipped in the repository: the default when neither --model nor FACET_MODEL_DIR is set. */
export const DEMO_MODEL_DIR = fileURLToPath(new URL("../../models/demo/", import.meta.url));

const HELP = `usage: facet describe <photo files…> [options]

Describes each photo file as one product (or, with --same-product, all files as the
photos of one product) and prints its description and attributes.

  --model DIR         model bundle folder (default: $FACET_MODEL_DIR or models/demo)
  --same-product      treat all files as photos of one product (primary first)
  --json              print JSON (an array of results) instead of text
  --batch-size N      products per model call (default 32)
  --provider P        cpu (default) or cuda
  --threads N         onnxruntime intra-op threads (default 1; see README)
  --no-cache          decode without the key/value cache (slower; for comparison)

Exit status: 0 all described; 1 some photo was refused (reason printed); 2 bad usage or model.`;

export async function describeCommand(args: string[]): Promise<number> {
  const { values, positionals } = parseFlags("describe", args, {
    model: { type: "string" },
    json: { type: "boolean", default: false },
    "same-product": { type: "boolean", default: false },
    "batch-size": { type: "string" },
    provider: { type: "string", default: "cpu" },
    threads: { type: "string" },
    "no-cache": { type: "boolean", default: false },
    help: { type: "boolean", short: "h", default: false },
  });
  if (values.help) {
    console.log(HELP);
    return 0;
  }
  if (positionals.length === 0) throw new ConfigError("facet describe: give at least one photo file (see facet describe --help)");
  if (values.provider !== "cpu" && values.provider !== "cuda") {
    throw new ConfigError(`facet describe: --provider must be cpu or cuda, got '${values.provider}'`);
  }
  const settings: SessionSettings = {
    executionProvider: values.provider,
    ...(values.threads !== undefined ? { intraOpThreads: positiveInt("describe", "threads", values.threads, 1) } : {}),
  };
  const batchSize = positiveInt("describe", "batch-size", values["batch-size"], DEFAULT_BATCH_SIZE);
  const modelDir = path.resolve(values.model ?? process.env.FACET_MODEL_DIR ?? DEMO_MODEL_DIR);

  const files = positionals.map((f) => path.resolve(f));
  const photos = await Promise.all(
    files.map(async (file) => {
      try {
        return await readFile(file);
      } catch (cause) {
        throw new ConfigError(`facet describe: cannot read ${file} (${(cause as NodeJS.ErrnoException).code ?? cause})`, { cause });
      }
    }),
  );
  const products: ProductPhotos[] = values["same-product"]
    ? [{ id: path.basename(files[0] as string), photos }]
    : files.map((file, i) => ({ id: path.basename(file), photos: [photos[i] as Buffer] }));

  const bundle = await loadBundle(modelDir, settings);
  try {
    const describer = createDescriber(bundle, { batchSize, useCache: !values["no-cache"] });
    const outcomes = await describer.describe(products);
    if (values.json) console.log(JSON.stringify(outcomes, null, 2));
    else for (const outcome of outcomes) console.log(formatOutcome(outcome));
    return outcomes.every((o) => o.ok) ? 0 : 1;
  } finally {
    await bundle.close();
  }
}

export function formatOutcome(o: ProductOutcome): string {
  if (!o.ok) return `${o.id}\n  FAILED ${o.code}: ${o.message}\n`;
  const width = Math.max(...Object.keys(o.attributes).map((k) => k.length));
  const lines = Object.entries(o.attributes).map(
    ([name, a]) => `  ${name.padEnd(width)}  ${a.label.padEnd(16)} ${(a.confidence * 100).toFixed(1).padStart(5)}%`,
  );
  const t = o.timings;
  return [
    o.id,
    `  ${o.description}`,
    ...lines,
    `  model ${o.model.name} ${o.model.version} · ${o.photosUsed} photo(s) · preprocess ${t.preprocessMs.toFixed(0)} ms, ` +
      `encode ${t.encodeMs.toFixed(0)} ms, decode ${t.decodeMs.toFixed(0)} ms (batch of ${t.batchSize})`,
    "",
  ].join("\n");
}
