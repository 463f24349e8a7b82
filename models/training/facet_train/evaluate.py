"""Evaluate a model bundle on a hold-out facet-dataset/1 folder.

    PYTHONPATH=models/training /usr/bin/python3 -m facet_train.evaluate --bundle BUNDLE_DIR --data HOLDOUT_DIR [--batch-size 64]

Runs pytorch_model.pt on every product (attributes: argmax of the mean photo
probabilities; text: greedy decoding through the decoder's cache path), writes
BUNDLE_DIR/metrics.json and the manifest's `evaluation`, and refreshes
metrics.json's hash in the manifest.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import torch

from .bundle import MANIFEST, BundleError, file_entry, read_manifest, write_json
from .checkpoint import CheckpointError, load_checkpoint
from .data import DatasetError, FacetDataset, load_dataset
from .inference import predict
from .scoring import score
from .tokenizer import WordTokenizer


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="facet_train.evaluate", description="Evaluate a model bundle on a hold-out dataset.")
    p.add_argument("--bundle", required=True, type=Path)
    p.add_argument("--data", required=True, type=Path, help="hold-out facet-dataset/1 folder")
    p.add_argument("--batch-size", type=int, default=64, help="products per batch")
    p.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: all cores)")
    return p


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.batch_size < 1:
        parser.error(f"--batch-size must be at least 1, got {args.batch_size}")
    if args.threads is not None and args.threads < 1:
        parser.error(f"--threads must be at least 1, got {args.threads}")
    if not (args.bundle / MANIFEST).is_file():
        parser.error(f"--bundle: {args.bundle / MANIFEST} not found")
    if not (args.bundle / "pytorch_model.pt").is_file():
        parser.error(f"--bundle: {args.bundle / 'pytorch_model.pt'} not found (evaluation runs the PyTorch checkpoint)")
    if not (args.data / "dataset.json").is_file():
        parser.error(f"--data: {args.data / 'dataset.json'} not found")
    return args


def check_compatible(manifest: dict, dataset: FacetDataset) -> None:
    """The dataset must have the bundle's attributes, labels and photo size."""
    expected = [(a["name"], list(a["labels"])) for a in manifest["attributes"]]
    actual = [(a.name, list(a.labels)) for a in dataset.attributes]
    if expected != actual:
        raise DatasetError(f"{dataset.root / 'dataset.json'}: attributes {actual} differ from the bundle's {expected}")
    size = manifest["preprocessing"]["image_size"]
    if dataset.image_size != size:
        raise DatasetError(f"{dataset.root / 'dataset.json'}: image_size {dataset.image_size} differs from the bundle's {size}")


def format_table(metrics: dict) -> str:
    lines = [f"{'attribute':<12} {'accuracy':>9} {'macro-F1':>9} {'products':>9}"]
    for name, m in metrics["attributes"].items():
        acc = "-" if m["accuracy"] is None else f"{m['accuracy']:.4f}"
        f1 = "-" if m["macro_f1"] is None else f"{m['macro_f1']:.4f}"
        lines.append(f"{name:<12} {acc:>9} {f1:>9} {m['support']:>9}")
    for key, label in (("bleu4", "BLEU-4"), ("rouge_l", "ROUGE-L"), ("consistency", "consistency"), ("exact_match", "exact match")):
        value = metrics[key]
        lines.append(f"{label:<12} {'-' if value is None else f'{value:.4f}':>9}")
    return "\n".join(lines)


def evaluate(args: argparse.Namespace) -> dict:
    torch.set_num_threads(args.threads or os.cpu_count() or 1)
    manifest = read_manifest(args.bundle)
    checkpoint = load_checkpoint(args.bundle / "pytorch_model.pt")
    tokenizer = WordTokenizer.load(args.bundle / manifest["tokenizer"]["file"])
    dataset = load_dataset(args.data)
    check_compatible(manifest, dataset)
    indices = list(range(len(dataset.products)))
    started = time.perf_counter()
    predictions = predict(checkpoint.model, tokenizer, dataset, indices, args.batch_size)
    seconds = time.perf_counter() - started
    scores = score(dataset, indices, predictions, tokenizer)
    dataset_summary = {"path": str(args.data), "source": dataset.source, "products": len(indices), "images": dataset.photo_count(indices)}
    metrics = {
        "dataset": dataset_summary,
        **scores,
        "seconds": round(seconds, 1),
        "products_per_second": round(len(indices) / seconds, 1) if seconds else None,
        "engine": "pytorch",
    }
    write_json(args.bundle / "metrics.json", metrics)
    manifest["evaluation"] = {
        "dataset": dataset_summary,
        "attributes": {name: {"accuracy": m["accuracy"], "macro_f1": m["macro_f1"]} for name, m in scores["attributes"].items()},
        "bleu4": scores["bleu4"],
        "rouge_l": scores["rouge_l"],
        "consistency": scores["consistency"],
    }
    # Only metrics.json changed: refresh its entry and leave the other hashes as the loader will check them.
    manifest["files"]["metrics.json"] = file_entry(args.bundle / "metrics.json")
    write_json(args.bundle / MANIFEST, manifest)
    print(format_table(scores))
    print(f"{len(indices)} products in {seconds:.1f} s; wrote {args.bundle / 'metrics.json'} and the manifest's evaluation")
    return metrics


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        evaluate(args)
    except (BundleError, CheckpointError, DatasetError) as e:
        print(f"facet_train.evaluate: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
