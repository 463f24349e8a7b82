import { z } from "zod";
import { readJsonFile } from "../../shared/config/json-file.js";

/** `facet-evaluation/1`: what `facet model evaluate` writes (models/training/facet_train/evaluate.py). */
const classSchema = z.object({ precision: z.number().nullable(), recall: z.number().nullable(), f1: z.number().nullable(), support: z.number(), predicted: z.number() });
const attributeSchema = z
  .object({
    accuracy: z.number().nullable(),
    macro_f1: z.number().nullable(),
    support: z.number(),
    classes: z.record(z.string(), classSchema),
    confusion: z.object({ labels: z.array(z.string()), matrix: z.array(z.array(z.number())) }),
    calibrated: z.boolean(),
    ece: z.number().nullable(),
    applied: z.object({ products: z.number(), accuracy: z.number().nullable() }),
  })
  .loose();

export const evaluationReportSchema = z
  .object({
    format: z.literal("facet-evaluation/1"),
    created_at: z.string(),
    bundle: z.object({ path: z.string(), name: z.string(), version: z.string(), files: z.record(z.string(), z.object({ sha256: z.string() }).loose()) }),
    dataset: z.object({ path: z.string(), source: z.record(z.string(), z.unknown()), hash: z.string() }),
    split: z.string(),
    products: z.number(),
    labels_outside_bundle: z.record(z.string(), z.array(z.string())).optional(),
    metrics: z
      .object({
        products: z.number(),
        attributes: z.record(z.string(), attributeSchema),
        review: z.object({ threshold: z.number(), sent: z.number(), share: z.number().nullable(), reasons: z.record(z.string(), z.number()), applied: z.number() }).loose(),
        bleu4: z.number().nullable(),
        rouge_l: z.number().nullable(),
        consistency: z.number().nullable(),
        exact_match: z.number().nullable(),
        non_empty: z.number().nullable(),
      })
      .loose(),
  })
  .loose();
export type EvaluationReport = z.infer<typeof evaluationReportSchema>;

export function readEvaluationReport(file: string): Promise<EvaluationReport> {
  return readJsonFile(file, evaluationReportSchema, "evaluation report");
}

/** The manifest's `evaluation`: the headline figures of a report. */
export function evaluationSummary(report: EvaluationReport): Record<string, unknown> {
  const m = report.metrics;
  return {
    dataset: { path: report.dataset.path, hash: report.dataset.hash, source: report.dataset.source },
    split: report.split,
    products: report.products,
    attributes: Object.fromEntries(
      Object.entries(m.attributes)
        .filter(([, a]) => a.support > 0)
        .map(([name, a]) => [name, { accuracy: a.accuracy, macro_f1: a.macro_f1, ece: a.ece, support: a.support, applied_accuracy: a.applied.accuracy }]),
    ),
    review: { threshold: m.review.threshold, share: m.review.share, reasons: m.review.reasons },
    consistency: m.consistency,
    bleu4: m.bleu4,
    rouge_l: m.rouge_l,
    non_empty: m.non_empty,
  };
}
