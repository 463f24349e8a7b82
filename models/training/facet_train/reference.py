"""Reference outputs of a bundle's PyTorch checkpoint, for the TypeScript runtime's tests.

    PYTHONPATH=models/training /usr/bin/python3 -m facet_train.reference --bundle BUNDLE_DIR --data DATASET_DIR [--limit N]

Prints a JSON array, one object per product in dataset order:
{"id", "tokens": greedy ids without <bos>, up to and including <eos>, "text",
 "probs": {attribute: mean of the photos' probabilities}}. The runtime must
reproduce the tokens exactly and the probabilities within 1e-4.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

import torch

from .bundle import MANIFEST, BundleError, read_manifest
from .checkpoint import CheckpointError, load_checkpoint
from .data import DatasetError, load_dataset
from .evaluate import check_compatible
from .inference import predict
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
        check_compatible(manifest, dataset)
    except (BundleError, CheckpointError, DatasetError) as e:
        print(f"facet_train.reference: {e}", file=sys.stderr)
        return 1
    count = len(dataset.products) if args.limit is None else min(args.limit, len(dataset.products))
    predictions = predict(checkpoint.model, tokenizer, dataset, list(range(count)), args.batch_size)
    names = [a.name for a in dataset.attributes]
    out = [{"id": p.id, "tokens": p.tokens, "text": p.text, "probs": dict(zip(names, p.probs))} for p in predictions]
    json.dump(out, sys.stdout)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
