"""Reference outputs of a bundle's PyTorch checkpoint, for the TypeScript runtime's tests.

    PYTHONPATH=models/training /usr/bin/python3 -m facet_train.reference --bundle BUNDLE_DIR --data DATASET_DIR [--limit N]

Prints a JSON array, one object per product in dataset order:
{"id", "tokens": constrained greedy ids without <bos>, up to and including <eos>, "text",
 "probs": {attribute: mean of the photos' probabilities, calibrated}, "familiarity", "stated",
 "review"}, served at the default review threshold (policy.py). The runtime must reproduce the
tokens, text, stated labels and review reasons exactly, and the numbers within 1e-4.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

import torch

from .memory import reexec_with_malloc_tunables
from .bundle import MANIFEST, BundleError, read_manifest
from .checkpoint import CheckpointError, load_checkpoint
from .data import DatasetError, load_dataset
from .inference import predict
from .labels_map import LabelsMapError, align, check_image_size
from .policy import Policy
from .tokenizer import WordTokenizer


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="facet_train.reference", description="Print the PyTorch reference outputs of a bundle as JSON.")
    parser.add_argument("--bundle", required=True, type=Path)
    parser.add_argument("--data", required=True, type=Path)
    parser.add_argument("--limit", type=int, default=None, help="only the first N products")
    parser.add_argument("--batch-size", type=int, default=16)
    args = parser.parse_args(argv)
    if args.limit is not None and args.limit < 1:
        parser.error(f"--limit must be at least 1, got {args.limit}")
    if args.batch_size < 1:
        parser.error(f"--batch-size must be at least 1, got {args.batch_size}")
    if not (args.bundle / MANIFEST).is_file():
        parser.error(f"--bundle: {args.bundle / MANIFEST} not found")
    try:
        torch.set_num_threads(os.cpu_count() or 1)
        manifest = read_manifest(args.bundle)
        checkpoint = load_checkpoint(args.bundle / "pytorch_model.pt")
        tokenizer = WordTokenizer.load(args.bundle / manifest["tokenizer"]["file"])
        dataset = load_dataset(args.data)
        check_image_size(manifest, dataset)
        dataset = align(dataset, checkpoint.attributes, None).dataset
    except (BundleError, CheckpointError, DatasetError, LabelsMapError) as e:
        print(f"facet_train.reference: {e}", file=sys.stderr)
        return 1
    count = len(dataset.products) if args.limit is None else min(args.limit, len(dataset.products))
    predictions = predict(checkpoint.model, tokenizer, dataset, list(range(count)), args.batch_size, Policy.from_manifest(manifest))
    names = [a.name for a in dataset.attributes]
    out = [
        {"id": p.id, "tokens": p.tokens, "text": p.text, "probs": dict(zip(names, p.probs)), "familiarity": p.familiarity, "stated": p.stated, "review": p.review}
        for p in predictions
    ]
    json.dump(out, sys.stdout)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    reexec_with_malloc_tunables()
    sys.exit(main())
