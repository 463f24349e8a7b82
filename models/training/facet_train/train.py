"""Train the Facet model on a facet-dataset/1 folder.

    PYTHONPATH=models/training /usr/bin/python3 -m facet_train.train --data DIR --out RUN_DIR [options]

Writes RUN_DIR/model.pt (best epoch by validation loss), RUN_DIR/tokenizer.json
and RUN_DIR/training.json.
"""

from __future__ import annotations

import argparse
import copy
import math
import os
import random
import sys
import time
from pathlib import Path

import numpy as np
import torch

from .bundle import write_json
from .checkpoint import save_checkpoint
from .data import MAX_PHOTOS, Augmenter, DatasetError, FacetDataset, batch_indices, load_dataset, make_batch, split_products
from .inference import predict
from .model import IMAGENET_MEAN, IMAGENET_STD, FacetModel, ModelConfig
from .scoring import score
from .tokenizer import PAD_ID, WordTokenizer, split_words


def _int_list(text: str) -> list[int]:
    try:
        return [int(x) for x in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated integers, got {text!r}") from None


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="facet_train.train", description="Train the Facet photo-to-description model.")
    p.add_argument("--data", required=True, type=Path, help="facet-dataset/1 folder")
    p.add_argument("--out", required=True, type=Path, help="run folder to write (created)")
    p.add_argument("--epochs", type=int, default=30)
    p.add_argument("--max-steps", type=int, default=None, help="stop after this many optimiser steps")
    p.add_argument("--batch-size", type=int, default=32, help="products per step")
    p.add_argument("--lr", type=float, default=2e-3, help="peak learning rate (AdamW, warm-up then cosine)")
    p.add_argument("--weight-decay", type=float, default=0.01)
    p.add_argument("--warmup-steps", type=int, default=None, help="default: 5%% of the planned steps, at most 300")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--val-fraction", type=float, default=0.1)
    p.add_argument("--patience", type=int, default=4, help="epochs without a better validation loss before stopping")
    p.add_argument("--backbone", choices=["scratch", "mobilenet_v2"], default="scratch")
    p.add_argument("--backbone-weights", type=Path, default=None, help="torchvision mobilenet_v2 state dict (local file)")
    p.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: all cores)")
    p.add_argument("--d-model", type=int, default=128)
    p.add_argument("--layers", type=int, default=2)
    p.add_argument("--heads", type=int, default=4)
    p.add_argument("--ffn", type=int, default=None, help="decoder feed-forward width (default: 4 × d-model)")
    p.add_argument("--max-length", type=int, default=40, help="most generated tokens, <eos> included")
    p.add_argument("--widths", type=_int_list, default=[24, 32, 64, 96, 128], help="scratch backbone: five stage widths")
    p.add_argument("--depths", type=_int_list, default=[0, 1, 1, 1, 1], help="scratch backbone: extra convs per stage")
    p.add_argument("--dropout", type=float, default=0.1)
    p.add_argument("--no-augment", action="store_true", help="train on the photos as they are")
    p.add_argument("--no-attribute-token", action="store_true", help="do not give the decoder the heads' probabilities")
    return p


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = build_parser()
    args = parser.parse_args(argv)
    positive = ["epochs", "batch_size", "patience", "d_model", "layers", "heads", "max_length"]
    for name in positive:
        if getattr(args, name) < 1:
            parser.error(f"--{name.replace('_', '-')} must be at least 1, got {getattr(args, name)}")
    for name in ["max_steps", "threads", "ffn"]:
        if getattr(args, name) is not None and getattr(args, name) < 1:
            parser.error(f"--{name.replace('_', '-')} must be at least 1, got {getattr(args, name)}")
    if args.warmup_steps is not None and args.warmup_steps < 0:
        parser.error(f"--warmup-steps must be at least 0, got {args.warmup_steps}")
    if not args.lr > 0:
        parser.error(f"--lr must be positive, got {args.lr}")
    if args.weight_decay < 0:
        parser.error(f"--weight-decay must be at least 0, got {args.weight_decay}")
    if not 0 <= args.val_fraction < 1:
        parser.error(f"--val-fraction must be in [0, 1), got {args.val_fraction}")
    if not 0 <= args.dropout < 1:
        parser.error(f"--dropout must be in [0, 1), got {args.dropout}")
    if args.max_length < 2:
        parser.error(f"--max-length must be at least 2 (a word and <eos>), got {args.max_length}")
    if args.d_model % args.heads:
        parser.error(f"--d-model ({args.d_model}) must be divisible by --heads ({args.heads})")
    if len(args.widths) != 5 or min(args.widths) < 1:
        parser.error(f"--widths must be five positive integers, got {args.widths}")
    if len(args.depths) != 5 or min(args.depths) < 0:
        parser.error(f"--depths must be five non-negative integers, got {args.depths}")
    if args.backbone == "mobilenet_v2" and args.backbone_weights is None:
        parser.error("--backbone-weights is required with --backbone mobilenet_v2 (training it from scratch on a CPU is too slow)")
    if args.backbone == "scratch" and args.backbone_weights is not None:
        parser.error("--backbone-weights only applies to --backbone mobilenet_v2")
    if args.backbone_weights is not None and not args.backbone_weights.is_file():
        parser.error(f"--backbone-weights: {args.backbone_weights} is not a file")
    if not (args.data / "dataset.json").is_file():
        parser.error(f"--data: {args.data / 'dataset.json'} not found")
    return args


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    torch.use_deterministic_algorithms(True)


def _optimizer(model: FacetModel, lr: float, weight_decay: float) -> torch.optim.Optimizer:
    # No decay on biases, norms, embeddings and position tables: decay there only hurts.
    decay, plain = [], []
    for name, param in model.named_parameters():
        if param.ndim >= 2 and "embedding" not in name and not name.endswith("position"):
            decay.append(param)
        else:
            plain.append(param)
    return torch.optim.AdamW([{"params": decay, "weight_decay": weight_decay}, {"params": plain, "weight_decay": 0.0}], lr=lr)


def _schedule(warmup: int, total: int):
    def factor(step: int) -> float:
        if step < warmup:
            return (step + 1) / warmup
        progress = min(1.0, (step - warmup) / max(1, total - warmup))
        return 0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * progress))

    return factor


@torch.no_grad()
def validate(model: FacetModel, dataset: FacetDataset, indices: list[int], tokenizer: WordTokenizer, batch_size: int) -> dict:
    """Teacher-forced validation loss, attribute accuracies and next-token accuracy."""
    model.eval()
    loss_sum = text_sum = 0.0
    batches = 0
    correct = [0] * len(dataset.attributes)
    labelled = [0] * len(dataset.attributes)
    token_hits = token_total = 0
    for chunk in batch_indices(indices, batch_size):
        batch = make_batch(dataset, chunk, tokenizer, model.config.max_length)
        losses = model.losses(batch)
        loss_sum += float(losses.total)
        text_sum += float(losses.parts.get("text", 0.0))
        batches += 1
        for a, probs in enumerate(losses.probs):
            labels = batch.labels[:, a]
            known = labels >= 0
            correct[a] += int((probs.argmax(dim=1)[known] == labels[known]).sum())
            labelled[a] += int(known.sum())
        if losses.logits is not None:
            real = batch.targets != PAD_ID
            token_hits += int((losses.logits.argmax(dim=-1)[real] == batch.targets[real]).sum())
            token_total += int(real.sum())
    return {
        "loss": loss_sum / max(batches, 1),
        "text_loss": text_sum / max(batches, 1),
        "token_accuracy": token_hits / token_total if token_total else None,
        "attributes": {a.name: (correct[i] / labelled[i] if labelled[i] else None) for i, a in enumerate(dataset.attributes)},
    }


def _fmt(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"


def train(args: argparse.Namespace) -> dict:
    started = time.perf_counter()
    torch.set_num_threads(args.threads or os.cpu_count() or 1)
    seed_everything(args.seed)
    dataset = load_dataset(args.data)
    train_idx, val_idx = split_products(dataset, args.val_fraction, args.seed)
    if not train_idx:
        raise DatasetError(f"{args.data}: no products to train on")
    tokenizer = WordTokenizer.build(dataset.products[i].reference for i in train_idx)
    truncated = sum(
        1 for i in train_idx if dataset.products[i].reference is not None and len(split_words(dataset.products[i].reference)) > args.max_length - 1
    )
    config = ModelConfig(
        vocab_size=tokenizer.vocab_size,
        attributes=[(a.name, len(a.labels)) for a in dataset.attributes],
        image_size=dataset.image_size,
        backbone=args.backbone,
        widths=args.widths,
        depths=args.depths,
        d_model=args.d_model,
        layers=args.layers,
        heads=args.heads,
        ffn=args.ffn or 4 * args.d_model,
        max_length=args.max_length,
        dropout=args.dropout,
        attribute_token=not args.no_attribute_token,
    )
    model = FacetModel(config, str(args.backbone_weights) if args.backbone_weights else None)
    parameters = sum(p.numel() for p in model.parameters())
    steps_per_epoch = math.ceil(len(train_idx) / args.batch_size)
    planned = args.epochs * steps_per_epoch
    if args.max_steps is not None:
        planned = min(planned, args.max_steps)
    warmup = args.warmup_steps if args.warmup_steps is not None else min(300, max(1, planned // 20))
    optimizer = _optimizer(model, args.lr, args.weight_decay)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, _schedule(warmup, planned))
    augment = None if args.no_augment else Augmenter(args.seed)
    preprocessing = {
        "image_size": dataset.image_size,
        "resize": "pad",
        "background": list(dataset.background),
        "mean": list(IMAGENET_MEAN),
        "std": list(IMAGENET_STD),
        "max_photos": MAX_PHOTOS,
    }

    args.out.mkdir(parents=True, exist_ok=True)
    tokenizer.save(args.out / "tokenizer.json")
    print(
        f"data {args.data}: {len(train_idx)} train / {len(val_idx)} val products, "
        f"{dataset.photo_count(train_idx)} / {dataset.photo_count(val_idx)} photos, vocab {tokenizer.vocab_size}; "
        f"model {parameters / 1e6:.2f} M parameters, {steps_per_epoch} steps/epoch, threads {torch.get_num_threads()}",
        flush=True,
    )

    history: list[dict] = []
    best = {"loss": math.inf, "epoch": 0, "state": None, "val": None}
    steps = 0
    stopped = "epochs"
    epochs_run = 0
    train_seconds = 0.0
    train_photos = 0

    def write_summary(stopped: str, final: dict | None) -> dict:
        """training.json; written after every epoch too, so that an interrupted run can still be exported."""
        summary = {
            "dataset": {
                "path": str(args.data),
                "source": dataset.source,
                "image_size": dataset.image_size,
                "splits": {
                    name: {"products": len(idx), "images": dataset.photo_count(idx), "labels": dataset.label_counts(idx)}
                    for name, idx in (("train", train_idx), ("val", val_idx))
                },
                "references_truncated": truncated,
            },
            "backbone": args.backbone,
            "backbone_weights": str(args.backbone_weights) if args.backbone_weights else None,
            "seed": args.seed,
            "epochs": epochs_run,
            "steps": steps,
            "seconds": round(time.perf_counter() - started, 1),
            "best_epoch": best["epoch"],
            "stopped": stopped,
            "train_photos_per_second": round(train_photos / train_seconds, 1) if train_seconds else None,
            "threads": torch.get_num_threads(),
            "parameters": parameters,
            "hyperparameters": {
                "epochs": args.epochs,
                "max_steps": args.max_steps,
                "batch_size": args.batch_size,
                "lr": args.lr,
                "weight_decay": args.weight_decay,
                "warmup_steps": warmup,
                "schedule": "linear warm-up, cosine to 5%",
                "val_fraction": args.val_fraction,
                "patience": args.patience,
                "augment": not args.no_augment,
                **{k: v for k, v in config.to_json().items() if k not in ("attributes", "vocab_size", "image_size", "backbone")},
            },
            "validation": {"teacher_forced": best["val"], "greedy": final},
            "history": history,
        }
        write_json(args.out / "training.json", summary)
        return summary

    for epoch in range(1, args.epochs + 1):
        model.train()
        t0 = time.perf_counter()
        loss_sum, batches, photos = 0.0, 0, 0
        for chunk in batch_indices(train_idx, args.batch_size, shuffle_seed=args.seed * 100_003 + epoch):
            batch = make_batch(dataset, chunk, tokenizer, config.max_length)
            loss = model.losses(batch, augment).total
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
            scheduler.step()
            steps += 1
            loss_sum += float(loss)
            batches += 1
            photos += int(batch.photo_mask.sum())
            if args.max_steps is not None and steps >= args.max_steps:
                stopped = "max-steps"
                break
        seconds = time.perf_counter() - t0
        train_seconds += seconds
        train_photos += photos
        epochs_run = epoch
        t1 = time.perf_counter()
        val = validate(model, dataset, val_idx, tokenizer, max(args.batch_size, 64)) if val_idx else None
        val_seconds = time.perf_counter() - t1
        # With no validation split the last epoch is the one kept.
        current = val["loss"] if val else -epoch
        improved = current < best["loss"]
        if improved:
            best = {"loss": current, "epoch": epoch, "state": copy.deepcopy(model.state_dict()), "val": val}
            save_checkpoint(args.out / "model.pt", model, dataset.attributes, tokenizer, preprocessing, best["state"])
        history.append({"epoch": epoch, "steps": steps, "train_loss": loss_sum / batches, "val": val, "seconds": seconds, "val_seconds": val_seconds})
        line = f"epoch {epoch}/{args.epochs} step {steps} lr {scheduler.get_last_lr()[0]:.2e} train loss {loss_sum / batches:.4f} ({seconds:.1f} s, {photos / seconds:.0f} photos/s)"
        if val:
            accs = " ".join(f"{name} {_fmt(acc)}" for name, acc in val["attributes"].items())
            line += f" | val loss {val['loss']:.4f} text {val['text_loss']:.4f} tokens {_fmt(val['token_accuracy'])} {accs} ({val_seconds:.1f} s)"
        print(line + (" *" if improved else ""), flush=True)
        write_summary("running", None)
        if stopped == "max-steps":
            break
        if val and epoch - best["epoch"] >= args.patience:
            stopped = "early-stopping"
            print(f"early stopping: no better validation loss for {args.patience} epochs; keeping epoch {best['epoch']}", flush=True)
            break

    model.load_state_dict(best["state"])
    final = None
    if val_idx:
        t2 = time.perf_counter()
        final = score(dataset, val_idx, predict(model, tokenizer, dataset, val_idx, 64), tokenizer)
        print(
            f"best epoch {best['epoch']} on val, greedy: "
            + " ".join(f"{n} {_fmt(m['accuracy'])}" for n, m in final["attributes"].items())
            + f" bleu4 {_fmt(final['bleu4'])} rouge_l {_fmt(final['rouge_l'])} consistency {_fmt(final['consistency'])}"
            f" exact {_fmt(final['exact_match'])} ({time.perf_counter() - t2:.1f} s)",
            flush=True,
        )
    summary = write_summary(stopped, final)
    print(f"wrote {args.out / 'model.pt'} (epoch {best['epoch']}), {args.out / 'training.json'}; {summary['seconds']:.0f} s in all", flush=True)
    return summary


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        train(args)
    except DatasetError as e:
        print(f"facet_train.train: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
