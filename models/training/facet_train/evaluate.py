"""Evaluate a model bundle on a dataset the model never trained on. Never modifies the bundle.

    PYTHONPATH=models/training /usr/bin/python3 -m facet_train.evaluate --bundle BUNDLE_DIR --data DATA_DIR \
        [--split test|val|train|all] [--labels-map FILE] [--review-threshold 0.9] [--review-attributes category] \
        [--out REPORT.json] [--json]

Runs pytorch_model.pt on every product of the split (the dataset's test split when it has splits,
else all of it) exactly as the runtime serves it: calibrated attribute probabilities, familiarity,
the review policy, constrained greedy decoding. Prints a table (or, with --json, the report) and
writes the report to --out (default: BUNDLE_DIR.evaluation.json, beside the bundle).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import sys
import time
from pathlib import Path

import torch

from .memory import reexec_with_malloc_tunables
from .bundle import MANIFEST, BundleError, read_manifest, write_json
from .checkpoint import CheckpointError, load_checkpoint
from .data import SPLITS, DatasetError, FacetDataset, dataset_splits, load_dataset
from .inference import apply_run_shift, predict
from .labels_map import Alignment, LabelsMapError, align, check_image_size, read_labels_map
from .policy import DEFAULT_REVIEW_ATTRIBUTES, DEFAULT_REVIEW_THRESHOLD, Policy
from .scoring import score
from .tokenizer import WordTokenizer


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="facet_train.evaluate", description="Evaluate a model bundle on a dataset it never trained on.")
    p.add_argument("--bundle", required=True, type=Path)
    p.add_argument("--data", required=True, type=Path, help="facet-dataset/1 folder")
    p.add_argument("--split", choices=[*SPLITS, "all"], default=None, help="default: test when the dataset has splits, else all")
    p.add_argument("--labels-map", type=Path, default=None, help="facet-labels-map/1 file: which bundle label each dataset label is")
    p.add_argument("--review-threshold", type=float, default=DEFAULT_REVIEW_THRESHOLD, help="REVIEW_THRESHOLD the runtime serves with")
    p.add_argument("--review-attributes", default=",".join(DEFAULT_REVIEW_ATTRIBUTES), help="REVIEW_ATTRIBUTES the runtime serves with")
    p.add_argument("--out", type=Path, default=None, help="report file (default: BUNDLE_DIR.evaluation.json)")
    p.add_argument("--json", action="store_true", help="print the report as JSON instead of the table")
    p.add_argument("--batch-size", type=int, default=32, help="products per batch")
    p.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: all cores)")
    return p


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.batch_size < 1:
        parser.error(f"--batch-size must be at least 1, got {args.batch_size}")
    if args.threads is not None and args.threads < 1:
        parser.error(f"--threads must be at least 1, got {args.threads}")
    if not 0 <= args.review_threshold <= 1:
        parser.error(f"--review-threshold must be in [0, 1], got {args.review_threshold}")
    if not (args.bundle / MANIFEST).is_file():
        parser.error(f"--bundle: {args.bundle / MANIFEST} not found")
    if not (args.bundle / "pytorch_model.pt").is_file():
        parser.error(f"--bundle: {args.bundle / 'pytorch_model.pt'} not found (evaluation runs the PyTorch checkpoint)")
    if not (args.data / "dataset.json").is_file():
        parser.error(f"--data: {args.data / 'dataset.json'} not found")
    if args.labels_map is not None and not args.labels_map.is_file():
        parser.error(f"--labels-map: {args.labels_map} is not a file")
    args.review_attributes = tuple(a for a in args.review_attributes.split(",") if a)
    args.out = args.out or args.bundle.resolve().parent / f"{args.bundle.resolve().name}.evaluation.json"
    return args


def split_indices(dataset: FacetDataset, split: str | None) -> tuple[str, list[int]]:
    has_splits = bool(dataset.products) and dataset.products[0].split is not None
    chosen = split or ("test" if has_splits else "all")
    if chosen == "all":
        return chosen, list(range(len(dataset.products)))
    if not has_splits:
        raise DatasetError(f"{dataset.root / 'items.jsonl'}: has no splits; evaluate --split all (or export it again)")
    train, val, test = dataset_splits(dataset, 0.0, 0)
    return chosen, {"train": train, "val": val, "test": test}[chosen]


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.1f}%"


def format_table(report: dict) -> str:
    m = report["metrics"]
    lines = [f"{report['products']} products ({report['split']} split of {report['dataset']['path']}); bundle {report['bundle']['name']} {report['bundle']['version']}", ""]
    lines.append(f"{'attribute':<10} {'accuracy':>9} {'macro-F1':>9} {'ECE':>7} {'labelled':>9} {'applied':>8} {'applied acc.':>13} {'stated':>7} {'stated acc.':>12}")
    for name, a in m["attributes"].items():
        if not a["support"]:
            continue
        ece = "-" if a["ece"] is None else f"{a['ece']:.3f}"
        lines.append(
            f"{name:<10} {_pct(a['accuracy']):>9} {_pct(a['macro_f1']):>9} {ece:>7} {a['support']:>9} {a['applied']['products']:>8} {_pct(a['applied']['accuracy']):>13}"
            f" {a['stated']['products']:>7} {_pct(a['stated']['accuracy']):>12}"
            + ("" if a["calibrated"] else "  (not calibrated: never stated)")
        )
    r = m["review"]
    shift = m.get("run_shift")
    lines += [
        "",
        *(
            [
                f"run shift: {shift['unusual']} of {shift['products']} products unusual ({_pct(shift['share'])}; validation {_pct(shift['baseline'])},"
                f" shifted above {_pct(shift['bound'])}): {'too few products to tell' if shift['verdict'] == 'gathering' else shift['verdict']}"
                + (" - the photos as a whole are unlike the training photos, so every product goes to review" if shift["verdict"] == "shifted" else "")
            ]
            if shift
            else []
        ),
        f"review at threshold {r['threshold']}: {r['sent']} of {m['products']} sent to a person ({_pct(r['share'])}); "
        + ", ".join(f"{k} {v}" for k, v in r["reasons"].items())
        + f"; {r['applied']} applied",
        f"text: non-empty {_pct(m['non_empty'])}, consistency with the heads {_pct(m['consistency'])}"
        + (f", BLEU-4 {m['bleu4']:.3f}, ROUGE-L {m['rouge_l']:.3f}" if m["bleu4"] is not None else ""),
    ]
    for name, a in m["attributes"].items():
        if not a["support"]:
            continue
        labels = a["confusion"]["labels"]
        width = max(8, *(len(label) for label in labels)) + 1
        lines += ["", f"{name}: per class (rows: truth, columns: predicted)", f"{'':<{width}}" + "".join(f"{label[:9]:>10}" for label in labels) + f"{'recall':>9}"]
        for label, row in zip(labels, a["confusion"]["matrix"]):
            c = a["classes"][label]
            if c["support"] or c["predicted"]:
                lines.append(f"{label:<{width}}" + "".join(f"{v:>10}" for v in row) + f"{_pct(c['recall']):>9}")
        lines.append(f"{'precision':<{width}}" + "".join(f"{_pct(a['classes'][label]['precision']):>10}" for label in labels))
    return "\n".join(lines)


def evaluate(args: argparse.Namespace) -> dict:
    torch.set_num_threads(args.threads or os.cpu_count() or 1)
    manifest = read_manifest(args.bundle)
    checkpoint = load_checkpoint(args.bundle / "pytorch_model.pt")
    tokenizer = WordTokenizer.load(args.bundle / manifest["tokenizer"]["file"])
    dataset = load_dataset(args.data)
    check_image_size(manifest, dataset)
    alignment: Alignment = align(dataset, checkpoint.attributes, read_labels_map(args.labels_map) if args.labels_map else None)
    split, indices = split_indices(alignment.dataset, args.split)
    if not indices:
        raise DatasetError(f"{args.data}: the {split} split is empty")
    policy = Policy.from_manifest(manifest, args.review_threshold, args.review_attributes)
    started = time.perf_counter()
    predictions = predict(checkpoint.model, tokenizer, alignment.dataset, indices, args.batch_size, policy)
    seconds = time.perf_counter() - started
    # The evaluated split is one run: a shifted one sends all its products to review, as serving does.
    run_shift = apply_run_shift(predictions, policy)
    metrics = {**score(alignment.dataset, indices, predictions, policy), "run_shift": run_shift}
    report = {
        "format": "facet-evaluation/1",
        "created_at": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "bundle": {"path": str(args.bundle), "name": manifest["name"], "version": manifest["version"], "files": manifest["files"]},
        "dataset": {"path": str(args.data), "source": dataset.source, "hash": dataset.meta.get("hash")},
        "split": split,
        "products": len(indices),
        "labels_map": str(args.labels_map) if args.labels_map else None,
        "unscored_attributes": alignment.unscored,
        "ignored_attributes": alignment.ignored,
        "labels_outside_bundle": alignment.outside,
        "seconds": round(seconds, 1),
        "engine": "pytorch",
        "metrics": metrics,
        "examples": [
            {"id": p.id, "text": p.text, "labels": dict(zip([a.name for a in checkpoint.attributes], p.labels)), "review": p.review}
            for p in predictions[:10]
        ],
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    write_json(args.out, report)
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        print(format_table(report))
        print(f"\n{len(indices)} products in {seconds:.1f} s; report: {args.out}")
    return report


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        evaluate(args)
    except LabelsMapError as e:
        print(f"facet_train.evaluate: {e}", file=sys.stderr)
        return 2
    except (BundleError, CheckpointError, DatasetError) as e:
        print(f"facet_train.evaluate: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    reexec_with_malloc_tunables()
    sys.exit(main())
