import { createHash } from "node:crypto";
import { readFile } from "node:fs/promises";
import path from "node:path";
import type { z } from "zod";
import { BundleError } from "../../shared/errors/index.js";
import { BUNDLE_FORMAT, manifestSchema, type Manifest } from "./manifest.js";
import { tokenizerFileSchema, WordTokenizer } from "./tokenizer.js";

/**
 * What a bundle folder says, checked, with no ONNX session open: enough to preprocess photos
 * (the manifest's `preprocessing`) and to name the model. `loadBundle` (bundle.ts) adds the
 * sessions; a worker with inference threads needs only this on its main thread.
 */
export interface BundleSpec {
  dir: string;
  manifest: Manifest;
  tokenizer: WordTokenizer;
}

/** How much of a bundle folder to check. */
export interface SpecChecks {
  /**
   * Hash every file against the manifest. Default true; false only where this process has
   * just checked the same folder (an inference thread loading what its worker's main thread
   * read), so a large graph is not read and hashed once per thread.
   */
  hashes?: boolean;
}

/**
 * Read a bundle folder without opening its graphs: check its manifest, every file's sha256
 * and the tokenizer. Any defect throws a BundleError whose one-line message names the file
 * (by its path inside `dir`) and field.
 */
export function readBundleSpec(dir: string, checks: SpecChecks = {}): Promise<BundleSpec> {
  return namingBundleFiles(dir, async () => {
    const manifest = await readManifest(dir);
    if (checks.hashes ?? true) await verifyFiles(dir, manifest);
    return { dir, manifest, tokenizer: await readTokenizer(dir, manifest) };
  });
}

/** `read()`, with a BundleError's file named by its path inside bundle folder `dir`. */
export async function namingBundleFiles<T>(dir: string, read: () => Promise<T>): Promise<T> {
  try {
    return await read();
  } catch (error) {
    throw error instanceof BundleError ? error.inBundle(dir) : error;
  }
}

async function readManifest(dir: string): Promise<Manifest> {
  const file = "manifest.json";
  const raw = await readText(dir, file, undefined);
  let json: unknown;
  try {
    json = JSON.parse(raw);
  } catch (cause) {
    throw new BundleError(file, undefined, `not valid JSON (${(cause as Error).message})`, { cause });
  }
  const format = (json as { format?: unknown } | null)?.format;
  if (format !== BUNDLE_FORMAT) {
    throw new BundleError(file, "format", `unknown bundle format ${JSON.stringify(format)} (this Facet reads ${BUNDLE_FORMAT})`);
  }
  const parsed = manifestSchema.safeParse(json);
  if (!parsed.success) throw schemaError(file, parsed.error);
  const m = parsed.data;
  const t = m.tokenizer;
  for (const key of ["pad_id", "bos_id", "eos_id", "unk_id"] as const) {
    if (t[key] >= t.vocab_size) throw new BundleError(file, `tokenizer.${key}`, `${t[key]} is outside the vocabulary (${t.vocab_size})`);
  }
  if (m.decoder.head_dim * m.decoder.heads <= 0) throw new BundleError(file, "decoder.heads", "must be positive");
  for (const name of Object.keys(m.calibration?.attributes ?? {})) {
    if (!m.attributes.some((a) => a.name === name)) throw new BundleError(file, `calibration.attributes.${name}`, "is not an attribute of the manifest");
  }
  if (m.familiarity && !m.encoder.familiarity) throw new BundleError(file, "familiarity", "has a threshold but encoder.familiarity names no output");
  for (const needed of [m.encoder.file, m.decoder.file, t.file]) {
    if (!(needed in m.files)) throw new BundleError(file, `files.${needed}`, "missing: every bundle file needs its sha256");
  }
  return m;
}

async function verifyFiles(dir: string, manifest: Manifest): Promise<void> {
  await Promise.all(
    Object.entries(manifest.files).map(async ([name, entry]) => {
      if (name.includes("/") || name.includes("\\") || name === "manifest.json") {
        throw new BundleError("manifest.json", `files.${name}`, "must name a plain file of the bundle other than the manifest");
      }
      const bytes = await readBytes(dir, name, `files.${name}`);
      const actual = createHash("sha256").update(bytes).digest("hex");
      if (actual !== entry.sha256) {
        throw new BundleError(name, "sha256", `file hashes to ${actual}, manifest files.${name}.sha256 says ${entry.sha256}`);
      }
    }),
  );
}

async function readTokenizer(dir: string, manifest: Manifest): Promise<WordTokenizer> {
  const file = manifest.tokenizer.file;
  let json: unknown;
  try {
    json = JSON.parse(await readText(dir, file, "tokenizer.file"));
  } catch (cause) {
    if (cause instanceof BundleError) throw cause;
    throw new BundleError(file, undefined, `not valid JSON (${(cause as Error).message})`, { cause });
  }
  const parsed = tokenizerFileSchema.safeParse(json);
  if (!parsed.success) throw schemaError(file, parsed.error);
  const t = parsed.data;
  const m = manifest.tokenizer;
  if (t.vocab.length !== m.vocab_size) {
    throw new BundleError(file, "vocab", `has ${t.vocab.length} tokens, manifest tokenizer.vocab_size says ${m.vocab_size}`);
  }
  for (const key of ["pad_id", "bos_id", "eos_id", "unk_id"] as const) {
    if (t[key] !== m[key]) throw new BundleError(file, key, `is ${t[key]}, manifest tokenizer.${key} says ${m[key]}`);
  }
  if (new Set(t.vocab).size !== t.vocab.length) throw new BundleError(file, "vocab", "has duplicate tokens");
  if (t.format === "facet-word-tokenizer/2") {
    const names = new Set(manifest.attributes.map((a) => a.name));
    for (const [attribute, id] of Object.entries(t.slots)) {
      if (!names.has(attribute)) throw new BundleError(file, `slots.${attribute}`, `is not an attribute of the manifest (${[...names].join(", ")})`);
      if (t.vocab[id] !== `<${attribute}>`) throw new BundleError(file, `slots.${attribute}`, `id ${id} is ${JSON.stringify(t.vocab[id])}, not "<${attribute}>"`);
    }
  }
  return new WordTokenizer(t);
}

/** A bundle file's bytes; a missing or unreadable one is a BundleError naming it (and `field`, the manifest entry that names it). */
export async function readBytes(dir: string, file: string, field: string | undefined): Promise<Buffer> {
  try {
    return await readFile(path.join(dir, file));
  } catch (cause) {
    const code = (cause as NodeJS.ErrnoException).code;
    const why = code === "ENOENT" ? "missing" : `unreadable (${code ?? String(cause)})`;
    throw new BundleError(file, field, why, { cause });
  }
}

async function readText(dir: string, file: string, field: string | undefined): Promise<string> {
  return (await readBytes(dir, file, field)).toString("utf8");
}

function schemaError(file: string, error: z.ZodError): BundleError {
  const issue = error.issues[0];
  const field = issue?.path.join(".") || undefined;
  return new BundleError(file, field, issue?.message ?? "invalid");
}
