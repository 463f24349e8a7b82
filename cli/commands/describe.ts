import { spawn } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { loadConfig } from "../../shared/config/config.js";
import { repoPath } from "../../shared/repo-root.js";
import { ConfigError } from "../../shared/errors/index.js";
import { loadBundle } from "../../models/runtime/bundle.js";
import { createDescriber, DEFAULT_BATCH_SIZE, type ProductOutcome, type ProductPhotos } from "../../models/runtime/describer.js";
import type { SessionSettings } from "../../models/runtime/session-settings.js";
import { withSellerFacts } from "../../models/review/seller-review.js";
import { ShiftTally, withRunShift } from "../../models/runtime/run-shift.js";
import { parseFlags, positiveInt } from "../usage-error.js";

/** The demo bundle shipped in the repository: the default when neither --model nor FACET_MODEL_DIR is set. */
export const DEMO_MODEL_DIR = repoPath("models/demo");

const HELP = `usage: facet describe <photo files…> [options]

Describes each photo file as one product (or, with --same-product, all files as the
photos of one product) and prints its description, its attributes with calibrated
confidences, and whether it may be applied or needs a person (and why).

  --model DIR         model bundle folder (default: $FACET_MODEL_DIR or models/demo)
  --same-product      treat all files as photos of one product (primary first)
  --seller-text TEXT  what the artisan wrote: a result that contradicts it needs review
  --files-from FILE   read the photo files from FILE, one path per line (as well as any given)
  --json              print JSON (an array of results) instead of text
  --batch-size N      products per model call (default 32)
  --provider P        cpu (default) or cuda
  --threads N         onnxruntime intra-op threads (default 1; see README)
  --no-cache          decode without the key/value cache (slower; for comparison)

REVIEW_THRESHOLD and REVIEW_ATTRIBUTES (environment) set what is stated and what needs
review, as for the pipeline. Any number of files: they are read and described a batch
at a time. The files are one run for the run-level shift gate: when, as a whole, they are
unlike the bundle's training photos (README, "Confidence you can act on"), every result
needs review (unfamiliar_photo); so the first 200 results are printed once that is known. Exit status: 0 all described; 1 some file or photo could not be used (reason
printed); 2 bad usage or model.`;

export async function describeCommand(args: string[]): Promise<number> {
  const { values, positionals } = parseFlags("describe", args, {
    model: { type: "string" },
    json: { type: "boolean", default: false },
    "same-product": { type: "boolean", default: false },
    "seller-text": { type: "string" },
    "files-from": { type: "string", multiple: true },
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
  if (positionals.length > 0 && argvBytes() > LARGE_ARGV_BYTES && process.env[RELAUNCHED] === undefined) return relaunchWithFileList(values, positionals);
  const listed = (await Promise.all((values["files-from"] ?? []).map(readFileList))).flat();
  const all = [...positionals, ...listed];
  if (all.length === 0) throw new ConfigError("facet describe: give at least one photo file (see facet describe --help)");
  if (values.provider !== "cpu" && values.provider !== "cuda") {
    throw new ConfigError(`facet describe: --provider must be cpu or cuda, got '${values.provider}'`);
  }
  const config = loadConfig();
  const settings: SessionSettings = {
    executionProvider: values.provider,
    ...(values.threads !== undefined ? { intraOpThreads: positiveInt("describe", "threads", values.threads, 1) } : {}),
  };
  const batchSize = positiveInt("describe", "batch-size", values["batch-size"], DEFAULT_BATCH_SIZE);
  const modelDir = path.resolve(values.model ?? process.env.FACET_MODEL_DIR ?? DEMO_MODEL_DIR);
  const files = all.map((f) => path.resolve(f));
  const groups = values["same-product"] ? [files] : files.map((f) => [f]);
  const seller = values["seller-text"];

  const bundle = await loadBundle(modelDir, settings);
  const out = outputFor(values.json);
  let allOk = true;
  try {
    const describer = createDescriber(bundle, { batchSize, useCache: !values["no-cache"], review: { threshold: config.REVIEW_THRESHOLD, attributes: config.REVIEW_ATTRIBUTES } });
    // A batch of products at a time: files are read, described and printed, then let go, so any
    // number of files runs in the memory of one batch (and of the first SHIFT_MIN_PRODUCTS results,
    // held until the files have shown whether, as a whole, they are unlike the training photos).
    const tally = new ShiftTally();
    const held: ProductOutcome[] = [];
    const release = () => {
      const shifted = tally.verdict === "shifted";
      for (const o of held.splice(0)) out.write(o.ok && shifted ? withRunShift(o) : o);
    };
    for (let start = 0; start < groups.length; start += batchSize) {
      const chunk = groups.slice(start, start + batchSize);
      const read = await Promise.all(chunk.map(readProduct));
      const readable = read.filter((r): r is ProductPhotos => "photos" in r);
      const described = (await describer.describe(readable)).values();
      for (const r of read) {
        const outcome = "photos" in r ? (described.next().value as ProductOutcome) : r;
        const reviewed = outcome.ok && seller !== undefined ? withSellerFacts(outcome, { texts: [seller] }) : outcome;
        allOk &&= reviewed.ok;
        if (reviewed.ok) tally.add(reviewed.shift);
        held.push(reviewed);
      }
      if (tally.verdict !== "gathering") release();
    }
    release();
    const shift = tally.describe();
    if (shift !== null && tally.verdict !== "gathering") console.error(shift);
  } finally {
    out.end();
    await bundle.close();
  }
  return allOk ? 0 : 1;
}

/**
 * onnxruntime (1.30, Linux) crashes with a segmentation fault while creating a session when the
 * process's command line is large (about 30 KB: 800 photo paths under /tmp; the issue saw it from
 * 384 files): a recursion in the native library runs out of the main thread's stack. So a long
 * file list is handed to a fresh `facet describe` through a file, and its command line stays short.
 */
const LARGE_ARGV_BYTES = 16 * 1024;
const RELAUNCHED = "FACET_DESCRIBE_RELAUNCHED";

function argvBytes(): number {
  return process.argv.reduce((sum, a) => sum + Buffer.byteLength(a) + 1, 0);
}

async function relaunchWithFileList(values: Record<string, string | string[] | boolean | undefined>, positionals: readonly string[]): Promise<number> {
  const dir = await mkdtemp(path.join(os.tmpdir(), "facet-describe-"));
  const list = path.join(dir, "files.txt");
  try {
    await writeFile(list, `${positionals.map((p) => path.resolve(p)).join("\n")}\n`);
    const flags = Object.entries(values).flatMap(([name, value]) =>
      value === true ? [`--${name}`] : typeof value === "string" ? [`--${name}`, value] : Array.isArray(value) ? value.flatMap((v) => [`--${name}`, v]) : [],
    );
    const child = spawn(process.execPath, [...process.execArgv, process.argv[1] as string, "describe", ...flags, "--files-from", list], {
      stdio: "inherit",
      env: { ...process.env, [RELAUNCHED]: "1" },
    });
    return await new Promise<number>((resolve) => child.on("exit", (code, signal) => resolve(code ?? (signal ? 1 : 0))));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

async function readFileList(file: string): Promise<string[]> {
  try {
    return (await readFile(file, "utf8")).split(/\r?\n/).map((l) => l.trim()).filter(Boolean);
  } catch (cause) {
    throw new ConfigError(`facet describe: --files-from: cannot read ${file} (${(cause as NodeJS.ErrnoException).code ?? cause})`, { cause });
  }
}

/** One product's files, or its failure naming the file that could not be read. */
async function readProduct(files: readonly string[]): Promise<ProductPhotos | Extract<ProductOutcome, { ok: false }>> {
  const id = path.basename(files[0] as string);
  const photos: Buffer[] = [];
  for (const [i, file] of files.entries()) {
    try {
      photos.push(await readFile(file));
    } catch (cause) {
      const code = (cause as NodeJS.ErrnoException).code ?? "error";
      return { id, ok: false, code: "file_unreadable", message: `cannot read ${file} (${code})`, photo: i };
    }
  }
  return { id, photos };
}

/** Text, or a JSON array written as it goes (valid JSON once ended). */
function outputFor(json: boolean): { write(o: ProductOutcome): void; end(): void } {
  let count = 0;
  return {
    write(o) {
      if (json) process.stdout.write(`${count === 0 ? "[\n" : ",\n"}${JSON.stringify(o, null, 2)}`);
      else console.log(formatOutcome(o));
      count++;
    },
    end() {
      if (json) process.stdout.write(count === 0 ? "[]\n" : "\n]\n");
    },
  };
}

export function formatOutcome(o: ProductOutcome): string {
  if (!o.ok) return `${o.id}\n  FAILED ${o.code}: ${o.message}\n`;
  const width = Math.max(8, ...Object.keys(o.attributes).map((k) => k.length));
  const lines = Object.entries(o.attributes).map(
    ([name, a]) =>
      `  ${name.padEnd(width)}  ${a.label.padEnd(16)} ${(a.confidence * 100).toFixed(1).padStart(5)}%${a.stated || a.label === "none" ? "" : "  (not stated)"}`,
  );
  const t = o.timings;
  const review = o.review.decision === "apply" ? "apply" : `needs_review (${o.review.reasons.join(", ")})`;
  return [
    o.id,
    `  ${o.description}`,
    ...lines,
    `  ${"decision".padEnd(width)}  ${review}`,
    `  model ${o.model.name} ${o.model.version} · ${o.photosUsed} photo(s)` +
      (o.familiarity !== null ? ` · familiarity ${o.familiarity.toFixed(2)}` : "") +
      ` · preprocess ${t.preprocessMs.toFixed(0)} ms, encode ${t.encodeMs.toFixed(0)} ms, decode ${t.decodeMs.toFixed(0)} ms (batch of ${t.batchSize})`,
    "",
  ].join("\n");
}
