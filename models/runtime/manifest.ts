import { z } from "zod";

/** The bundle formats this runtime reads (models/FORMAT.md). */
export const BUNDLE_FORMAT = "facet-bundle/1";

const rgb = z.tuple([z.number().int().min(0).max(255), z.number().int().min(0).max(255), z.number().int().min(0).max(255)]);
const triple = z.tuple([z.number(), z.number(), z.number()]);
const sha256 = z.string().regex(/^[0-9a-f]{64}$/, "must be 64 lower-case hex digits");

export const manifestSchema = z.object({
  format: z.string(),
  name: z.string().min(1).regex(/^[A-Za-z0-9._-]+$/, "letters, digits, '.', '_' and '-' only"),
  version: z.string().min(1).regex(/^[A-Za-z0-9._+-]+$/, "letters, digits, '.', '_', '+' and '-' only"),
  created_at: z.string().optional(),
  preprocessing: z.object({
    image_size: z.number().int().min(16).max(1024),
    resize: z.literal("pad"),
    background: rgb,
    mean: triple,
    std: triple.refine((s) => s.every((v) => v > 0), "every std must be > 0"),
    max_photos: z.number().int().min(1).max(16),
  }),
  tokenizer: z.object({
    file: z.string().min(1),
    vocab_size: z.number().int().min(4),
    pad_id: z.number().int().nonnegative(),
    bos_id: z.number().int().nonnegative(),
    eos_id: z.number().int().nonnegative(),
    unk_id: z.number().int().nonnegative(),
  }),
  attributes: z
    .array(z.object({ name: z.string().regex(/^[a-z_]+$/), labels: z.array(z.string().min(1)).min(2) }))
    .min(1),
  encoder: z.object({
    file: z.string().min(1),
    feature_tokens: z.number().int().positive(),
    feature_dim: z.number().int().positive(),
    /** Name of the output giving each photo's familiarity (distance to the training photos), when the graph has one. */
    familiarity: z.literal("familiarity").optional(),
  }),
  decoder: z.object({
    file: z.string().min(1),
    layers: z.number().int().positive(),
    heads: z.number().int().positive(),
    head_dim: z.number().int().positive(),
    max_length: z.number().int().min(1).max(512),
  }),
  files: z.record(z.string(), z.object({ sha256, bytes: z.number().int().nonnegative().optional() })),
  training: z.record(z.string(), z.unknown()).optional(),
  /**
   * Temperature scaling per attribute head, fitted on the validation split: a product's probabilities
   * p become normalise(p^(1/T)). A head with too few validation labels has temperature null: its
   * label is never stated in the text nor trusted by the review gate. Absent: every head as it is.
   */
  calibration: z
    .object({
      method: z.literal("temperature"),
      attributes: z.record(
        z.string(),
        z.object({ temperature: z.number().positive().nullable(), support: z.number().int().nonnegative(), status: z.string() }).loose(),
      ),
    })
    .loose()
    .optional(),
  /** Above `threshold`, a product's mean photo familiarity says its photos are unlike the training data (review: unfamiliar_photo). */
  familiarity: z.object({ threshold: z.number().positive(), percentile: z.number(), fitted_on: z.string() }).loose().optional(),
  /**
   * The run-level shift baseline (run-shift.ts): the share of validation products whose calibrated
   * `attribute` confidence is below `confidence_below` or whose photos are unfamiliar. Absent: no run-level gate.
   */
  shift: z
    .object({
      attribute: z.string(),
      confidence_below: z.number().gt(0).lte(1),
      validation_share: z.number().gt(0).lte(1),
      validation_products: z.number().int().nonnegative(),
    })
    .loose()
    .optional(),
  evaluation: z.record(z.string(), z.unknown()).optional(),
  /** Written by `facet model publish`: where the bundle came from and how it measured. */
  lineage: z.record(z.string(), z.unknown()).optional(),
});

export type Manifest = z.infer<typeof manifestSchema>;
