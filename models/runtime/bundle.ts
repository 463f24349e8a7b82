import { createHash } from "node:crypto";
import { readFile } from "node:fs/promises";
import path from "node:path";
import * as ort from "onnxruntime-node";
import type { z } from "zod";
import { BundleError } from "../../shared/errors/index.js";
import { BUNDLE_FORMAT, manifestSchema, type Manifest } from "./manifest.js";
import { tokenizerFileSchema, WordTokenizer } from "./tokenizer.js";
import type { SessionSettings } from "./session-settings.js";
import { DEFAULT_SESSION_SETTINGS, toSessionOptions } from "./session-settings.js";

/** A validated bundle with its ONNX sessions open. `close()` releases them. */
export interface ModelBundle {
  dir: string;
  manifest: Manifest;
  tokenizer: WordTokenizer;
  encoder: ort.InferenceSession;
  decoder: ort.InferenceSession;
  /** Milliseconds spent loading, validating and warming up. */
  loadMs: number;
  close(): Promise<void>;
}

/** A dimension the graph must have: a number, or a symbol (dynamic axis). */
type Dim = number | "dynamic";
interface TensorSpec {
  type: ort.Tensor.Type;
  shape: Dim[];
}

/**
 * Load a bundle folder: check its manifest, every file's sha256, the tokenizer, the
 * ONNX graphs' input and output names, types and shapes, then run one warm-up
 * encode and decode step. Any defect throws a BundleError whose one-line message
 * names the file and field.
 */
export async function loadBundle(dir: string, settings: SessionSettings = DEFAULT_SESSION_SETTINGS): Promise<ModelBundle> {
  try {
    return await load(dir, settings);
  } catch (error) {
    throw error instanceof BundleError ? error.inBundle(dir) : error;
  }
}

async function load(dir: string, settings: SessionSettings): Promise<ModelBundle> {
  const started = performance.now();
  const manifest = await readManifest(dir);
  await verifyFiles(dir, manifest);
  const tokenizer = await readTokenizer(dir, manifest);

  const options = toSessionOptions(settings);
  const encoder = await openSession(dir, manifest.encoder.file, options);
  let decoder: ort.InferenceSession | undefined;
  try {
    decoder = await openSession(dir, manifest.decoder.file, options);
    checkSignature(manifest.encoder.file, encoder, encoderSignature(manifest));
    checkSignature(manifest.decoder.file, decoder, decoderSignature(manifest, tokenizer));
    await warmUp(manifest, tokenizer, encoder, decoder);
  } catch (error) {
    await encoder.release();
    await decoder?.release();
    throw error;
  }
  return {
    dir,
    manifest,
    tokenizer,
    encoder,
    decoder,
    loadMs: performance.now() - started,
    async close() {
      await encoder.release();
      await decoder.release();
    },
  };
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

function encoderSignature(m: Manifest): { inputs: Record<string, TensorSpec>; outputs: Record<string, TensorSpec> } {
  const s = m.preprocessing.image_size;
  const outputs: Record<string, TensorSpec> = {
    features: { type: "float32", shape: ["dynamic", m.encoder.feature_tokens, m.encoder.feature_dim] },
  };
  for (const a of m.attributes) outputs[`probs_${a.name}`] = { type: "float32", shape: ["dynamic", a.labels.length] };
  if (m.encoder.familiarity) outputs[m.encoder.familiarity] = { type: "float32", shape: ["dynamic"] };
  return { inputs: { images: { type: "float32", shape: ["dynamic", 3, s, s] } }, outputs };
}

function decoderSignature(m: Manifest, tokenizer: WordTokenizer) {
  const { layers, heads, head_dim } = m.decoder;
  const d = "dynamic" as const;
  return {
    inputs: {
      tokens: { type: "int64", shape: [d, d] },
      past: { type: "float32", shape: [d, 2 * layers, heads, d, head_dim] },
      memory: { type: "float32", shape: [d, d, m.encoder.feature_dim] },
      memory_mask: { type: "float32", shape: [d, d] },
    } satisfies Record<string, TensorSpec>,
    outputs: {
      logits: { type: "float32", shape: [d, d, tokenizer.size] },
      present: { type: "float32", shape: [d, 2 * layers, heads, d, head_dim] },
    } satisfies Record<string, TensorSpec>,
  };
}

/** Compare a session's declared inputs and outputs with what the manifest implies. */
function checkSignature(
  file: string,
  session: ort.InferenceSession,
  expected: { inputs: Record<string, TensorSpec>; outputs: Record<string, TensorSpec> },
): void {
  for (const [kind, metas] of [
    ["inputs", session.inputMetadata],
    ["outputs", session.outputMetadata],
  ] as const) {
    const want = expected[kind];
    const names = metas.map((meta) => meta.name);
    const missing = Object.keys(want).filter((n) => !names.includes(n));
    const extra = names.filter((n) => !(n in want));
    if (missing.length || extra.length) {
      throw new BundleError(
        file,
        kind,
        `expected ${Object.keys(want).join(", ")}; graph has ${names.join(", ")}` +
          (missing.length ? ` (missing ${missing.join(", ")})` : "") +
          (extra.length ? ` (unexpected ${extra.join(", ")})` : ""),
      );
    }
    for (const meta of metas) {
      const spec = want[meta.name] as TensorSpec;
      if (!meta.isTensor) throw new BundleError(file, `${kind}.${meta.name}`, "is not a tensor");
      if (meta.type !== spec.type) throw new BundleError(file, `${kind}.${meta.name}`, `type ${meta.type}, expected ${spec.type}`);
      const shape = meta.shape;
      const ok =
        shape.length === spec.shape.length &&
        spec.shape.every((dim, i) => (dim === "dynamic" ? typeof shape[i] === "string" || shape[i] === -1 : shape[i] === dim));
      if (!ok) {
        throw new BundleError(file, `${kind}.${meta.name}`, `shape [${shape.join(", ")}], expected [${spec.shape.join(", ")}]`);
      }
    }
  }
}

/** One blank photo through the encoder and one decoder step: proves the graphs run together. */
async function warmUp(m: Manifest, tokenizer: WordTokenizer, encoder: ort.InferenceSession, decoder: ort.InferenceSession) {
  const s = m.preprocessing.image_size;
  const enc = await encoder.run({ images: new ort.Tensor("float32", new Float32Array(3 * s * s), [1, 3, s, s]) });
  const features = enc.features as ort.Tensor;
  const { layers, heads, head_dim } = m.decoder;
  const dec = await decoder.run({
    tokens: new ort.Tensor("int64", BigInt64Array.from([BigInt(tokenizer.bosId)]), [1, 1]),
    past: new ort.Tensor("float32", new Float32Array(0), [1, 2 * layers, heads, 0, head_dim]),
    memory: features,
    memory_mask: new ort.Tensor("float32", new Float32Array(m.encoder.feature_tokens).fill(1), [1, m.encoder.feature_tokens]),
  });
  const logits = dec.logits as ort.Tensor;
  if (logits.dims[2] !== tokenizer.size) {
    throw new BundleError(m.decoder.file, "outputs.logits", `has ${logits.dims[2]} classes, tokenizer has ${tokenizer.size} tokens`);
  }
}

async function openSession(dir: string, file: string, options: ort.InferenceSession.SessionOptions) {
  const bytes = await readBytes(dir, file, undefined);
  try {
    return await ort.InferenceSession.create(bytes, options);
  } catch (cause) {
    throw new BundleError(file, undefined, `not a loadable ONNX model (${String((cause as Error).message).split("\n")[0]})`, { cause });
  }
}

async function readBytes(dir: string, file: string, field: string | undefined): Promise<Buffer> {
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
