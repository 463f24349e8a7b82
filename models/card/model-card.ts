import type { Manifest } from "../runtime/manifest.js";
import { evaluationReportSchema, type EvaluationReport } from "./evaluation-report.js";

/**
 * MODEL_CARD.md for a published bundle (Mitchell et al., "Model Cards for Model Reporting"): what
 * the model is for, what it learnt from (sources and their licences), how it measures per class on
 * data it never trained on, what it gets wrong, where its data is skewed, and what it does with
 * personal data. Written from the manifest and the evaluation report only, so it says nothing the
 * measurements do not.
 */
export function modelCard(manifest: Manifest, version: string, report: EvaluationReport): string {
  const training = (manifest.training ?? {}) as Record<string, unknown>;
  const dataset = (training.dataset ?? {}) as { source?: Record<string, unknown>; splits?: Record<string, { products: number; labels?: Record<string, Record<string, number>> }>; hash?: string };
  const source = dataset.source ?? {};
  const m = report.metrics;
  const lines: string[] = [];
  const pct = (v: number | null | undefined) => (v === null || v === undefined ? "–" : `${(100 * v).toFixed(1)}%`);

  lines.push(`# Model card: ${manifest.name} ${version}`, "");
  lines.push("## Intended use", "");
  lines.push(
    "Writes one house-style description and structured attributes (" +
      manifest.attributes.map((a) => a.name).join(", ") +
      ") of a jewellery product from its photos, for a marketplace's catalogue, with a person reviewing every result the model is unsure of " +
      "(`needs_review`: unfamiliar photos, low calibrated confidence, or a contradiction of what the seller stated).",
    "",
    "Not for: appraisal or authentication (a photo shows colour, not purity or whether a metal is plated), products other than jewellery, " +
      "or publishing without the review gate.",
    "",
  );

  lines.push("## Training data", "");
  lines.push(`- Source: ${describeSource(source)}.`);
  const sources = source.sources as Record<string, number> | undefined;
  if (sources) {
    lines.push("- Where the photos come from, and their licences as stated there:");
    for (const [where, n] of Object.entries(sources)) lines.push(`  - ${where}: ${n} photos`);
  } else if (source.licence) lines.push(`- Licence: ${String(source.licence)}.`);
  if (dataset.splits) lines.push(`- Splits: ${Object.entries(dataset.splits).map(([name, s]) => `${name} ${s.products}`).join(", ")} products (by duplicate group; the test split never trained on).`);
  if (dataset.hash) lines.push(`- Dataset hash: \`${dataset.hash}\`.`);
  lines.push(`- Backbone: ${String(training.backbone ?? "?")}${training.backbone_weights ? ` from ${String(training.backbone_weights).split("/").at(-1)}` : ""}.`, "");

  lines.push(`## Evaluation`, "");
  lines.push(`${report.products} products of the ${report.split} split of ${report.dataset.path} (hash \`${report.dataset.hash}\`), served as the runtime serves them (calibrated, review threshold ${m.review.threshold}).`, "");
  lines.push("| attribute | accuracy | macro-F1 | calibration error (ECE) | labelled | applied | accuracy of applied |", "| --- | ---: | ---: | ---: | ---: | ---: | ---: |");
  for (const [name, a] of Object.entries(m.attributes)) {
    if (!a.support) continue;
    lines.push(`| ${name}${a.calibrated ? "" : " (not calibrated: never stated)"} | ${pct(a.accuracy)} | ${pct(a.macro_f1)} | ${a.ece === null ? "–" : a.ece.toFixed(3)} | ${a.support} | ${a.applied.products} | ${pct(a.applied.accuracy)} |`);
  }
  lines.push("", `Sent to review: ${m.review.sent} of ${m.products} (${pct(m.review.share)}): ${Object.entries(m.review.reasons).map(([r, n]) => `${r} ${n}`).join(", ") || "none"}. Text consistent with the heads: ${pct(m.consistency)}; non-empty: ${pct(m.non_empty)}.`, "");
  for (const [name, a] of Object.entries(m.attributes)) {
    if (!a.support) continue;
    lines.push(`### ${name} per class`, "", "| label | precision | recall | support |", "| --- | ---: | ---: | ---: |");
    for (const [label, c] of Object.entries(a.classes)) if (c.support || c.predicted) lines.push(`| ${label} | ${pct(c.precision)} | ${pct(c.recall)} | ${c.support} |`);
    lines.push("");
  }

  lines.push("## Known limits", "");
  const untrusted = Object.entries(manifest.calibration?.attributes ?? {}).filter(([, c]) => c.temperature === null);
  for (const [name, c] of untrusted) lines.push(`- ${name}: only ${c.support} labelled validation products, too few to calibrate; it is reported but never stated in the text and never gates apply.`);
  for (const [name, labels] of Object.entries(report.labels_outside_bundle ?? {})) lines.push(`- ${name}: the evaluation data has ${labels.join(", ")}, which this model cannot predict.`);
  const weak = Object.entries(m.attributes).flatMap(([name, a]) =>
    Object.entries(a.classes).filter(([, c]) => c.support >= 5 && c.recall !== null && c.recall < 0.9).map(([label, c]) => `${name} ${label} (recall ${pct(c.recall)})`),
  );
  if (weak.length) lines.push(`- Weakest classes: ${weak.join(", ")}.`);
  lines.push(
    "- Photos unlike the training photos (other backgrounds, lighting, jewellery worn on a person, other kinds of product) go to review as `unfamiliar_photo`, " +
      `above a familiarity of ${manifest.familiarity?.threshold ?? "–"} (the ${manifest.familiarity?.percentile ?? "–"}th percentile of validation photos); a photo that looks familiar can still be wrong.`,
    "- Metal is read from colour: plated and solid metals look alike, and purity (925, 18k) cannot be seen. Facts the seller states are checked instead (`contradicts_seller`).",
    "",
  );

  lines.push("## Bias notes", "");
  const train = dataset.splits?.train;
  for (const [name, counts] of Object.entries(train?.labels ?? {})) {
    const known = Object.entries(counts).filter(([label]) => label !== "null");
    const total = known.reduce((s, [, n]) => s + n, 0);
    if (total === 0) continue;
    const sorted = [...known].sort((a, b) => b[1] - a[1]);
    const [top, bottom] = [sorted[0], sorted.at(-1)];
    const unknown = counts.null ?? 0;
    lines.push(
      `- ${name}: ${total} labelled training products${unknown ? ` (${unknown} unlabelled)` : ""}; ${top?.[0]} ${pct((top?.[1] ?? 0) / total)} to ${bottom?.[0]} ${pct((bottom?.[1] ?? 0) / total)}` +
        " (class imbalance: losses are class-balanced, but rare classes have less evidence behind them).",
    );
  }
  if (sources) lines.push(`- Sources are uneven: ${Object.values(sources).join(" / ")} photos; figures on a marketplace's own photos may differ from the ones above.`);
  lines.push("- The model was trained on product photos as their sellers shot them; sellers whose photos look unlike most (home lighting, phone cameras) are more often sent to review.", "");

  lines.push("## Privacy", "");
  lines.push(
    "Photos are decoded to pixels in memory; their metadata (EXIF, including GPS position and camera details) is applied for orientation only, then dropped: it is never stored in a dataset or the ledger, logged, or used by the model. " +
      "Datasets hold preprocessed pixels, labels and the catalogue's own text. The ledger stores generated text, attributes and a hash of the photos' bytes.",
    "",
  );
  return `${lines.join("\n")}\n`;
}

function describeSource(source: Record<string, unknown>): string {
  switch (source.kind) {
    case "synthetic":
      return `the synthetic catalogue (models/catalogue), seed ${String(source.seed)}, ${String(source.products)} products`;
    case "catalogue":
      return `the marketplace's catalogue ${String(source.catalogue)} with labels from ${String(source.labels)} (${String(source.products)} products), photos from ${String(source.images)}`;
    case "csv":
      return `the labelled photo CSV ${String(source.file)} (${String(source.rows)} rows)`;
    default:
      return JSON.stringify(source);
  }
}

export { evaluationReportSchema };
