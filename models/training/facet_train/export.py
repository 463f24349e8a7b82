"""Export a training run as a facet-bundle/1 folder (models/FORMAT.md).

    PYTHONPATH=models/training /usr/bin/python3 -m facet_train.export --run RUN_DIR --out BUNDLE_DIR \
        [--name facet-demo] [--version 1.0.0]

Writes encoder.onnx, decoder.onnx, tokenizer.json, pytorch_model.pt and manifest.json
(with the calibration and familiarity fitted after training; evaluation is a separate
report, and `facet model publish` records it in the published manifest). Then it checks the ONNX graphs
against PyTorch: RUN_DIR/export-check.json holds sample inputs with PyTorch's
outputs, and the verifier command (env FACET_VERIFY_CMD, default
`npx tsx models/runtime/verify-export.ts`) runs them through the runtime's
ONNX engine as `<cmd> --bundle BUNDLE_DIR --check RUN_DIR/export-check.json`.
A verifier that exits non-zero fails the export.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import torch

from .memory import reexec_with_malloc_tunables
from .bundle import FORMAT, write_manifest
from .checkpoint import CheckpointError, LoadedCheckpoint, load_checkpoint
from .data import DatasetError, dataset_splits, load_dataset
from .model import greedy_decode, normalise_images
from .tokenizer import BOS_ID, WordTokenizer

OPSET = 17  # the first with LayerNormalization; torch 1.13 exports up to 17
REPO_ROOT = Path(__file__).resolve().parents[3]
DEFAULT_VERIFY_CMD = "npx tsx models/runtime/verify-export.ts"
BUNDLE_FILES = ("manifest.json", "encoder.onnx", "decoder.onnx", "tokenizer.json", "pytorch_model.pt")
# Left by exports before evaluation became a separate report; removed when a folder is exported again.
LEGACY_FILES = ("metrics.json",)


class ExportError(RuntimeError):
    pass


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="facet_train.export", description="Export a training run as a model bundle.")
    p.add_argument("--run", required=True, type=Path, help="run folder written by facet_train.train")
    p.add_argument("--out", required=True, type=Path, help="bundle folder to write")
    p.add_argument("--name", default="facet-demo")
    p.add_argument("--version", default="1.0.0")
    p.add_argument("--skip-verify", action="store_true", help="development only: do not run the ONNX verifier")
    return p


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = build_parser()
    args = parser.parse_args(argv)
    for name in ("model.pt", "training.json"):
        if not (args.run / name).is_file():
            parser.error(f"--run: {args.run / name} not found")
    if not re.fullmatch(r"[a-z0-9][a-z0-9._-]*", args.name):
        parser.error(f"--name must be lower-case letters, digits, '.', '_' or '-', got {args.name!r}")
    if not re.fullmatch(r"\d+\.\d+\.\d+([-+][0-9A-Za-z.-]+)?", args.version):
        parser.error(f"--version must be semantic (1.2.3), got {args.version!r}")
    if args.out.exists():
        extra = sorted(p.name for p in args.out.iterdir() if p.name not in BUNDLE_FILES + LEGACY_FILES)
        if extra:
            parser.error(f"--out: {args.out} holds files that are not a bundle's ({extra[:3]}); choose an empty folder")
    return args


def _export_encoder(checkpoint: LoadedCheckpoint, path: Path) -> None:
    config = checkpoint.config
    encoder = checkpoint.model.encoder.eval()
    names = encoder.output_names
    sample = torch.zeros(2, 3, config.image_size, config.image_size)
    torch.onnx.export(
        encoder,
        (sample,),
        str(path),
        opset_version=OPSET,
        input_names=["images"],
        output_names=names,
        dynamic_axes={"images": {0: "N"}, **{n: {0: "N"} for n in names}},
        do_constant_folding=True,
    )


def _export_decoder(checkpoint: LoadedCheckpoint, path: Path) -> None:
    config = checkpoint.config
    decoder = checkpoint.model.decoder.eval()
    # Traced with P > 0 and T > 1 so that no size is frozen as a constant; the
    # verifier then runs it with P = 0 and with T = 1.
    # Any in-vocabulary ids do (a catalogue without reference texts has only the 4 specials).
    a, b, c, d = (i % config.vocab_size for i in (4, 5, 6, 7))
    tokens = torch.tensor([[BOS_ID, a, b], [BOS_ID, c, d]], dtype=torch.int64)
    past = torch.zeros(2, 2 * config.layers, config.heads, 2, config.head_dim)
    memory = torch.zeros(2, 3 * config.feature_tokens, config.d_model)
    memory_mask = torch.ones(2, 3 * config.feature_tokens)
    torch.onnx.export(
        decoder,
        (tokens, past, memory, memory_mask),
        str(path),
        opset_version=OPSET,
        input_names=["tokens", "past", "memory", "memory_mask"],
        output_names=["logits", "present"],
        dynamic_axes={
            "tokens": {0: "B", 1: "T"},
            "past": {0: "B", 3: "P"},
            "memory": {0: "B", 1: "M"},
            "memory_mask": {0: "B", 1: "M"},
            "logits": {0: "B", 1: "T"},
            "present": {0: "B", 3: "P_plus_T"},
        },
        do_constant_folding=True,
    )


def _tensor_json(t: torch.Tensor) -> dict:
    return {"shape": list(t.shape), "data": t.flatten().tolist()}


def _sample_photos(training: dict, checkpoint: LoadedCheckpoint) -> tuple[torch.Tensor, str]:
    """Two photos from the run's validation split (normalised), or seeded noise without the dataset."""
    size = checkpoint.config.image_size
    path = training.get("dataset", {}).get("path")
    try:
        dataset = load_dataset(path) if path else None
    except DatasetError:
        dataset = None
    if dataset is not None and dataset.image_size == size and len(dataset.images) >= 2:
        _, val, _ = dataset_splits(dataset, training["hyperparameters"]["val_fraction"], training["seed"])
        photos = [im for i in (val or range(len(dataset.products))) for im in dataset.products[i].images][:2]
        if len(photos) < 2:
            photos = [0, 1]
        pixels = torch.from_numpy(np.ascontiguousarray(dataset.images[photos])).permute(0, 3, 1, 2)
        return normalise_images(pixels).contiguous(), f"{path} photos {photos}"
    generator = torch.Generator().manual_seed(0)
    pixels = torch.randint(0, 256, (2, 3, size, size), generator=generator, dtype=torch.uint8)
    return normalise_images(pixels), "random (seed 0)"


@torch.no_grad()
def build_check(checkpoint: LoadedCheckpoint, training: dict) -> dict:
    """Sample inputs and PyTorch's outputs for both graphs, both decoding modes, and photo padding."""
    config = checkpoint.config
    model = checkpoint.model.eval()
    images, source = _sample_photos(training, checkpoint)
    encoded = dict(zip(model.encoder.output_names, model.encoder(images)))
    features = encoded["features"]
    f = config.feature_tokens
    # Product 0 has both photos; product 1 has one, padded with zeros (mask 0).
    memory = torch.zeros(2, 2 * f, config.d_model)
    memory[0] = features.reshape(2 * f, config.d_model)
    memory[1, :f] = features[1]
    memory_mask = torch.zeros(2, 2 * f)
    memory_mask[0] = 1
    memory_mask[1, :f] = 1
    greedy = greedy_decode(model.decoder, memory, memory_mask, 4)
    pick = lambda seq, i: seq[i] if i < len(seq) else seq[-1]  # noqa: E731 — products may end early; any token will do
    tokens = torch.tensor([[BOS_ID, pick(s, 0), pick(s, 1), pick(s, 2)] for s in greedy], dtype=torch.int64)
    past = model.decoder.empty_past(2)
    logits, present = model.decoder(tokens, past, memory, memory_mask)
    step_tokens = torch.tensor([[pick(s, 3)] for s in greedy], dtype=torch.int64)
    step_logits, step_present = model.decoder(step_tokens, present, memory, memory_mask)
    return {
        "format": "facet-export-check/1",
        "source": source,
        "tolerance": 1e-4,
        "encoder": {
            "inputs": {"images": _tensor_json(images)},
            "outputs": {n: _tensor_json(t) for n, t in encoded.items()},
        },
        "decoder_full": {
            "inputs": {
                "tokens": _tensor_json(tokens),
                "past": _tensor_json(past),
                "memory": _tensor_json(memory),
                "memory_mask": _tensor_json(memory_mask),
            },
            "outputs": {"logits": _tensor_json(logits), "present": _tensor_json(present)},
        },
        "decoder_step": {
            "inputs": {
                "tokens": _tensor_json(step_tokens),
                "past": _tensor_json(present),
                "memory": _tensor_json(memory),
                "memory_mask": _tensor_json(memory_mask),
            },
            "outputs": {"logits": _tensor_json(step_logits), "present": _tensor_json(step_present)},
        },
    }


def build_manifest(args: argparse.Namespace, checkpoint: LoadedCheckpoint, training: dict, tokenizer: WordTokenizer) -> dict:
    config = checkpoint.config
    training_summary = {
        "dataset": training["dataset"],
        "backbone": training["backbone"],
        "epochs": training["epochs"],
        "steps": training["steps"],
        "seconds": training["seconds"],
        "seed": training["seed"],
        "best_epoch": training["best_epoch"],
        "stopped": training.get("stopped"),
        "backbone_weights": training.get("backbone_weights"),
        "photos_per_second": training.get("photos_per_second"),
        "parameters": training.get("parameters"),
        "hyperparameters": training["hyperparameters"],
        "validation": training.get("validation"),
    }
    return {
        "format": FORMAT,
        "name": args.name,
        "version": args.version,
        "created_at": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "preprocessing": checkpoint.preprocessing,
        "tokenizer": {
            "file": "tokenizer.json",
            "vocab_size": tokenizer.vocab_size,
            "pad_id": 0,
            "bos_id": 1,
            "eos_id": 2,
            "unk_id": 3,
        },
        "attributes": [a.to_json() for a in checkpoint.attributes],
        "encoder": {
            "file": "encoder.onnx",
            "feature_tokens": config.feature_tokens,
            "feature_dim": config.d_model,
            **({"familiarity": "familiarity"} if config.familiarity_components else {}),
        },
        "decoder": {
            "file": "decoder.onnx",
            "layers": config.layers,
            "heads": config.heads,
            "head_dim": config.head_dim,
            "max_length": config.max_length,
        },
        "files": {},
        "training": training_summary,
        **({"calibration": checkpoint.calibration} if checkpoint.calibration else {}),
        **({"familiarity": checkpoint.familiarity} if checkpoint.familiarity else {}),
        **({"shift": checkpoint.shift} if checkpoint.shift else {}),
    }


def verify(bundle: Path, check: Path) -> None:
    command = shlex.split(os.environ.get("FACET_VERIFY_CMD", DEFAULT_VERIFY_CMD))
    command += ["--bundle", str(bundle.resolve()), "--check", str(check.resolve())]
    print(f"verifying: {shlex.join(command)}", flush=True)
    try:
        result = subprocess.run(command, cwd=REPO_ROOT)
    except FileNotFoundError as e:
        raise ExportError(f"verifier could not start ({e}); set FACET_VERIFY_CMD") from e
    if result.returncode != 0:
        raise ExportError(f"verifier exited with {result.returncode}: the ONNX graphs do not match PyTorch (see its output above)")


def export(args: argparse.Namespace) -> None:
    checkpoint = load_checkpoint(args.run / "model.pt")
    training = json.loads((args.run / "training.json").read_text())
    tokenizer = WordTokenizer.load(args.run / "tokenizer.json")
    if tokenizer.vocab != checkpoint.tokenizer.vocab:
        raise ExportError(f"{args.run / 'tokenizer.json'} differs from the tokenizer inside model.pt")
    args.out.mkdir(parents=True, exist_ok=True)
    for name in BUNDLE_FILES + LEGACY_FILES:
        (args.out / name).unlink(missing_ok=True)
    with warnings.catch_warnings():
        # The tracer warns about Python ints from tensor shapes; every size it uses comes from a shape op.
        warnings.simplefilter("ignore", torch.jit.TracerWarning)
        _export_encoder(checkpoint, args.out / "encoder.onnx")
        _export_decoder(checkpoint, args.out / "decoder.onnx")
    shutil.copyfile(args.run / "tokenizer.json", args.out / "tokenizer.json")
    shutil.copyfile(args.run / "model.pt", args.out / "pytorch_model.pt")
    write_manifest(args.out, build_manifest(args, checkpoint, training, tokenizer))
    check = args.run / "export-check.json"
    check.write_text(json.dumps(build_check(checkpoint, training)) + "\n")
    size = sum(p.stat().st_size for p in args.out.iterdir())
    print(f"wrote {args.out} ({size / 1e6:.1f} MB, opset {OPSET}) and {check}", flush=True)
    if args.skip_verify:
        print("!" * 72 + "\nWARNING: --skip-verify: the ONNX graphs were NOT checked against PyTorch.\n" + "!" * 72, file=sys.stderr, flush=True)
        return
    verify(args.out, check)
    print("export verified", flush=True)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        export(args)
    except (ExportError, CheckpointError, DatasetError) as e:
        print(f"facet_train.export: FAILED: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    reexec_with_malloc_tunables()
    sys.exit(main())
