import * as ort from "onnxruntime-node";
import pLimit from "p-limit";
import { PermanentError } from "../../shared/errors/index.js";
import type { ModelBundle } from "./bundle.js";
import { greedyDecode } from "./greedy-decoder.js";
import { normalise } from "./normalise.js";
import { PhotoError } from "./photo-error.js";
import type { PreparedProduct, Preprocessor, PreprocessorOptions, ProductPhotos } from "./preprocessor.js";
import {
  calibrate,
  decide,
  DEFAULT_REVIEW_SETTINGS,
  modelReviewReasons,
  statedLabels,
  temperatures,
  type Prediction,
  type ReviewDecision,
  type ReviewSettings,
} from "./review-policy.js";
import { shiftSignal, type ShiftSignal } from "./run-shift.js";

export type { PreparedProduct, ProductPhotos } from "./preprocessor.js";

export interface AttributePrediction {
  label: string;
  /** Calibrated probability of `label`: the mean over the product's photos of the head's softmax, temperature-scaled. */
  confidence: number;
  /** Whether the text states it (calibrated head, not "none", confidence at the review threshold). */
  stated: boolean;
  /** False for a head too thinly validated to trust (no temperature in the manifest): never stated, never gates. */
  trusted: boolean;
}

export interface ProductDescription {
  id: string;
  ok: true;
  description: string;
  attributes: Record<string, AttributePrediction>;
  /** Generated token ids (the last is `<eos>` unless the length limit cut the text). */
  tokens: number[];
  /** Full per-label calibrated probabilities, per attribute, in the manifest's label order. */
  probabilities: Record<string, number[]>;
  /** Mean photo familiarity (distance to the training photos; above the manifest's threshold: unfamiliar), or null when the bundle has none. */
  familiarity: number | null;
  /** The run-level shift signal (run-shift.ts) and the bundle's validation share of it; null when the bundle has no shift baseline. */
  shift: ShiftSignal | null;
  /** Whether the result may be applied, and if not why (the model's reasons; the pipeline may add contradicts_seller). */
  review: ReviewDecision;
  model: { name: string; version: string };
  photosUsed: number;
  timings: {
    preprocessMs: number;
    /** Wall time of the encoder call of this product's batch (shared by the batch). */
    encodeMs: number;
    /** Wall time of the decoding loop of this product's batch (shared by the batch). */
    decodeMs: number;
    batchSize: number;
  };
}

export interface ProductFailure {
  id: string;
  ok: false;
  /** Stable reason code (e.g. photo_corrupt); the error is permanent for this product only. */
  code: string;
  message: string;
  /** Index of the photo at fault, when one photo caused it. */
  photo?: number;
}

export type ProductOutcome = ProductDescription | ProductFailure;

export interface DescriberOptions extends PreprocessorOptions {
  /**
   * Products per model call. Default 32: in `npm run bench:model` on CPU, the smallest batch
   * within 5% of the best products/s (64 is no faster, and holds twice the memory and
   * latency); see README. A GPU wants as many as its memory allows.
   */
  batchSize?: number;
  /** Reuse the decoder's key/value cache (default true); false recomputes every prefix. */
  useCache?: boolean;
  /** Products `describe` preprocesses at once (sharp decodes each one's photos together). Default 4. */
  preprocessConcurrency?: number;
  /** REVIEW_THRESHOLD and REVIEW_ATTRIBUTES: what the text states and what goes to review (default DEFAULT_REVIEW_SETTINGS: 0.9, category). */
  review?: ReviewSettings;
}

export const DEFAULT_BATCH_SIZE = 32;

/** Turns product photos into descriptions and attributes with one loaded bundle. */
export interface Describer {
  readonly bundle: ModelBundle;
  /** Decode and preprocess one product's photos (`createPreprocessor` of the bundle's manifest); throws PhotoError naming the photo. */
  preprocess(product: ProductPhotos): Promise<PreparedProduct>;
  /** Run the model on prepared products (one batch, any size: it is split by batchSize). */
  infer(products: readonly PreparedProduct[]): Promise<ProductDescription[]>;
  /** Preprocess and infer; a product whose photos fail is returned as a failure, the rest go on. */
  describe(products: readonly ProductPhotos[]): Promise<ProductOutcome[]>;
}

export function createDescriber(bundle: ModelBundle, options: DescriberOptions = {}): Describer {
  const m = bundle.manifest;
  const batchSize = options.batchSize ?? DEFAULT_BATCH_SIZE;
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new RangeError(`batchSize must be a positive integer, got ${batchSize}`);
  const useCache = options.useCache ?? true;
  const concurrency = options.preprocessConcurrency ?? 4;
  const review = options.review ?? DEFAULT_REVIEW_SETTINGS;
  const temperature = temperatures(m);
  const familiarityThreshold = m.familiarity?.threshold;
  const slotIds = new Set(bundle.tokenizer.slots.values());
  const size = m.preprocessing.image_size;
  // Loaded on first use: an inference thread only runs prepared pixels and never loads sharp.
  let preprocessor: Promise<Preprocessor> | undefined;
  const preprocess = async (product: ProductPhotos): Promise<PreparedProduct> => {
    preprocessor ??= import("./preprocessor.js").then(({ createPreprocessor }) => createPreprocessor(m, options));
    return (await preprocessor).preprocess(product);
  };

  async function inferBatch(batch: readonly PreparedProduct[]): Promise<ProductDescription[]> {
    const b = batch.length;
    const counts = batch.map((p) => p.photos.length);
    const images = batch.flatMap((p) => p.photos);
    const n = images.length;

    const encodeStart = performance.now();
    const input = normalise(images, size, m.preprocessing.mean, m.preprocessing.std);
    const enc = await bundle.encoder.run({ images: new ort.Tensor("float32", input, [n, 3, size, size]) });
    const encodeMs = performance.now() - encodeStart;

    // Per product: mean of its photos' probabilities; memory = its photos' features in order.
    const probabilities: Record<string, number[]>[] = batch.map(() => ({}));
    for (const attribute of m.attributes) {
      const probs = (enc[`probs_${attribute.name}`] as ort.Tensor).data as Float32Array;
      const k = attribute.labels.length;
      let photo = 0;
      counts.forEach((count, i) => {
        const mean = new Array<number>(k).fill(0);
        for (let j = 0; j < count; j++, photo++) for (let c = 0; c < k; c++) mean[c]! += probs[photo * k + c] as number;
        (probabilities[i] as Record<string, number[]>)[attribute.name] = calibrate(
          mean.map((v) => v / count),
          temperature[attribute.name] ?? 1,
        );
      });
    }
    const familiarity = m.encoder.familiarity ? productMeans((enc[m.encoder.familiarity] as ort.Tensor).data as Float32Array, counts) : null;
    const predictions = probabilities.map((probs) => predictionsOf(probs));
    const stated = predictions.map((p) => statedLabels(p, review));
    const f = m.encoder.feature_tokens;
    const dim = m.encoder.feature_dim;
    const maxPhotos = Math.max(...counts);
    const tokensPerRow = maxPhotos * f;
    const features = (enc.features as ort.Tensor).data as Float32Array;
    const memory = new Float32Array(b * tokensPerRow * dim);
    const mask = new Float32Array(b * tokensPerRow);
    let photo = 0;
    counts.forEach((count, i) => {
      memory.set(features.subarray(photo * f * dim, (photo + count) * f * dim), i * tokensPerRow * dim);
      mask.fill(1, i * tokensPerRow, i * tokensPerRow + count * f);
      photo += count;
    });

    const decodeStart = performance.now();
    const { tokens } = await greedyDecode(bundle.decoder, {
      memory,
      memoryMask: mask,
      batch: b,
      memoryTokens: tokensPerRow,
      featureDim: dim,
      bosId: bundle.tokenizer.bosId,
      eosId: bundle.tokenizer.eosId,
      maxLength: m.decoder.max_length,
      layers: m.decoder.layers,
      heads: m.decoder.heads,
      headDim: m.decoder.head_dim,
      useCache,
      // Constrained decoding: the slots of attributes a product may not state are banned, and each slot comes once.
      banned: stated.map((fills) => new Set([...bundle.tokenizer.slots].filter(([attribute]) => !(attribute in fills)).map(([, id]) => id))),
      once: slotIds,
    });
    const decodeMs = performance.now() - decodeStart;

    return batch.map((product, i) => {
      const fills = stated[i] as Record<string, string>;
      const prediction = predictions[i] as Record<string, Prediction>;
      const attributes: Record<string, AttributePrediction> = Object.fromEntries(
        Object.entries(prediction).map(([name, p]) => [name, { label: p.label, confidence: p.confidence, stated: name in fills, trusted: p.trusted }]),
      );
      const ids = tokens[i] as number[];
      const productFamiliarity = familiarity ? (familiarity[i] as number) : null;
      return {
        id: product.id,
        ok: true,
        description: bundle.tokenizer.decode(ids, fills),
        attributes,
        tokens: ids,
        probabilities: probabilities[i] as Record<string, number[]>,
        familiarity: productFamiliarity,
        shift: shiftSignal(m, prediction, productFamiliarity),
        review: decide(modelReviewReasons(prediction, productFamiliarity, familiarityThreshold, review, ids.at(-1) === bundle.tokenizer.eosId)),
        model: { name: m.name, version: m.version },
        photosUsed: product.photos.length,
        timings: { preprocessMs: product.preprocessMs, encodeMs, decodeMs, batchSize: b },
      };
    });
  }

  /** Each attribute's best label and its calibrated confidence (ties: the first label). */
  function predictionsOf(probs: Record<string, number[]>): Record<string, Prediction> {
    return Object.fromEntries(
      m.attributes.map((attribute) => {
        const p = probs[attribute.name] as number[];
        let best = 0;
        p.forEach((v, c) => (v > (p[best] as number) ? (best = c) : undefined));
        return [attribute.name, { label: attribute.labels[best] as string, confidence: p[best] as number, trusted: temperature[attribute.name] !== null }];
      }),
    );
  }

  async function infer(products: readonly PreparedProduct[]): Promise<ProductDescription[]> {
    const results: ProductDescription[] = [];
    for (let i = 0; i < products.length; i += batchSize) results.push(...(await inferBatch(products.slice(i, i + batchSize))));
    return results;
  }

  async function describe(products: readonly ProductPhotos[]): Promise<ProductOutcome[]> {
    const prepared = await pLimit(concurrency).map(products, async (product): Promise<PreparedProduct | ProductFailure> => {
      try {
        return await preprocess(product);
      } catch (error) {
        if (error instanceof PermanentError) {
          const photo = error instanceof PhotoError ? error.photo : undefined;
          return { id: product.id, ok: false, code: error.code, message: error.message, ...(photo !== undefined ? { photo } : {}) };
        }
        throw error;
      }
    });
    const described = (await infer(prepared.filter((p): p is PreparedProduct => !("ok" in p)))).values();
    return prepared.map((p) => ("ok" in p ? p : (described.next().value as ProductDescription)));
  }

  return { bundle, preprocess, infer, describe };
}

/** Per product, the mean of its photos' values (`counts` photos each, in order). */
function productMeans(values: Float32Array, counts: readonly number[]): number[] {
  let photo = 0;
  return counts.map((count) => {
    let sum = 0;
    for (let j = 0; j < count; j++, photo++) sum += values[photo] as number;
    return sum / count;
  });
}
