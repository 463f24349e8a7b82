import * as ort from "onnxruntime-node";
import { BundleError } from "../../shared/errors/index.js";
import { namingBundleFiles, readBundleSpec, readBytes, type BundleSpec, type SpecChecks } from "./bundle-spec.js";
import type { Manifest } from "./manifest.js";
import type { WordTokenizer } from "./tokenizer.js";
import type { SessionSettings } from "./session-settings.js";
import { DEFAULT_SESSION_SETTINGS, toSessionOptions } from "./session-settings.js";

/** A validated bundle with its ONNX sessions open. `close()` releases them. */
export interface ModelBundle extends BundleSpec {
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
 * Load a bundle folder: `readBundleSpec` (its manifest, every file's sha256, the tokenizer),
 * then open the ONNX graphs, check their input and output names, types and shapes, and run
 * one warm-up encode and decode step. Any defect throws a BundleError whose one-line message
 * names the file and field.
 */
export async function loadBundle(dir: string, settings: SessionSettings = DEFAULT_SESSION_SETTINGS, checks: SpecChecks = {}): Promise<ModelBundle> {
  const started = performance.now();
  const spec = await readBundleSpec(dir, checks);
  const { encoder, decoder } = await namingBundleFiles(dir, () => openSessions(spec, settings));
  return {
    ...spec,
    encoder,
    decoder,
    loadMs: performance.now() - started,
    async close() {
      await encoder.release();
      await decoder.release();
    },
  };
}

/** The bundle's two sessions, checked against the manifest and warmed up; released again if any check fails. */
async function openSessions({ dir, manifest, tokenizer }: BundleSpec, settings: SessionSettings) {
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
  return { encoder, decoder };
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
