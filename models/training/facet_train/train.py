"""Train the Facet model on a facet-dataset/1 folder.

    PYTHONPATH=models/training /usr/bin/python3 -m facet_train.train --data DIR --out RUN_DIR [options]

Writes RUN_DIR/model.pt (the best epoch by validation loss, with its calibration and familiarity
fitted), RUN_DIR/tokenizer.json and RUN_DIR/training.json.

With a pretrained backbone (the default, mobilenet_v2) training is transfer learning done the way
that works reliably: a warm-up with the backbone frozen (on feature maps cached once), then the
whole network with the backbone at a tenth of the heads' learning rate; class-balanced losses;
augmentation suited to product photos. With `--backbone scratch` (the demo model) everything
trains from random weights at one learning rate. A guard stops a run whose loss runs away or whose
predictions collapse onto one class. The dataset's test split is never read.
"""

from __future__ import annotations

import argparse
import copy
import dataclasses
import gc
import math
import os
import random
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from .memory import reexec_with_malloc_tunables
from .backbones import BACKBONE_NAMES, SCRATCH, BackboneError, resolve_weights
from .bundle import write_json
from .calibration import MIN_SUPPORT, apply_temperature, fit_calibration, fit_temperature
from .checkpoint import save_checkpoint
from .data import (
    MAX_PHOTOS,
    Augmenter,
    DatasetError,
    Omission,
    batch_indices,
    class_weights,
    dataset_splits,
    load_dataset,
    make_batch,
    slot_attributes_of,
    target_words,
)
from .familiarity import fit_familiarity
from .shift import fit_shift, signal
from .feature_cache import FeatureCache, build_cache, estimate_megabytes
from .guard import LossGuard, TrainingGuardError, check_collapse, check_validation
from .inference import predict
from .model import IMAGENET_MEAN, IMAGENET_STD, FacetModel, ModelConfig, normalise_images
from .policy import DEFAULT_REVIEW_THRESHOLD, Policy
from .progress import Progress, format_duration
from .references import SegmentError
from .scoring import score
from .tokenizer import PAD_ID, WordTokenizer, split_words


def _int_list(text: str) -> list[int]:
    try:
        return [int(x) for x in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated integers, got {text!r}") from None


@dataclass(frozen=True)
class Recipe:
    """Defaults that depend on whether the backbone starts pretrained."""

    epochs: int
    warmup_epochs: int
    lr: float
    batch_size: int


# Scratch: the demo model's recipe (README). Pretrained: a few frozen epochs are cheap on cached
# maps; fine-tuning converges in a handful of epochs; a batch of 16 is the fastest per photo here
# at 224 px (larger batches fall out of the CPU's caches).
RECIPES = {"scratch": Recipe(epochs=30, warmup_epochs=0, lr=2e-3, batch_size=32), "pretrained": Recipe(epochs=8, warmup_epochs=4, lr=1e-3, batch_size=16)}


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="facet_train.train", description="Train the Facet photo-to-description model.")
    p.add_argument("--data", required=True, type=Path, help="facet-dataset/1 folder")
    p.add_argument("--out", required=True, type=Path, help="run folder to write (created)")
    p.add_argument("--backbone", choices=BACKBONE_NAMES, default="mobilenet_v2")
    p.add_argument(
        "--backbone-weights",
        default=None,
        help="torchvision state dict of the backbone's ImageNet weights (default: torchvision's cache file); 'random' for tests",
    )
    p.add_argument("--epochs", type=int, default=None, help="epochs after the warm-up (default: 8 pretrained, 30 scratch)")
    p.add_argument("--warmup-epochs", type=int, default=None, help="epochs with the backbone frozen first (default: 4 pretrained, 0 scratch)")
    p.add_argument("--max-steps", type=int, default=None, help="stop after this many optimiser steps in all")
    p.add_argument("--batch-size", type=int, default=None, help="products per step (default: 16 pretrained, 32 scratch)")
    p.add_argument("--lr", type=float, default=None, help="peak learning rate of the heads and decoder (default: 1e-3 pretrained, 2e-3 scratch)")
    p.add_argument("--backbone-lr-factor", type=float, default=0.1, help="a pretrained backbone's learning rate as a share of --lr")
    p.add_argument("--weight-decay", type=float, default=0.01)
    p.add_argument("--warmup-steps", type=int, default=None, help="linear learning-rate warm-up per phase (default: 5%% of its steps, at most 300)")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--val-fraction", type=float, default=0.1, help="only for datasets without splits")
    p.add_argument("--patience", type=int, default=4, help="epochs without a better validation loss before stopping")
    p.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: all cores)")
    p.add_argument("--d-model", type=int, default=128)
    p.add_argument("--layers", type=int, default=2)
    p.add_argument("--heads", type=int, default=4)
    p.add_argument("--ffn", type=int, default=None, help="decoder feed-forward width (default: 4 × d-model)")
    p.add_argument("--max-length", type=int, default=40, help="most generated tokens, <eos> included")
    p.add_argument("--widths", type=_int_list, default=[24, 32, 64, 96, 128], help="scratch backbone: five stage widths")
    p.add_argument("--depths", type=_int_list, default=[0, 1, 1, 1, 1], help="scratch backbone: extra convs per stage")
    p.add_argument("--dropout", type=float, default=0.1)
    p.add_argument("--omit-share", type=float, default=0.15, help="chance that a stated attribute is left out of a training target")
    p.add_argument("--no-augment", action="store_true", help="train on the photos as they are")
    p.add_argument("--no-class-balance", action="store_true", help="plain (unweighted) head losses")
    p.add_argument("--no-attribute-token", action="store_true", help="do not give the decoder the heads' probabilities")
    p.add_argument("--feature-cache-mb", type=int, default=4096, help="largest warm-up feature cache; above it warm-up runs the frozen backbone each step")
    p.add_argument("--progress-seconds", type=float, default=10.0, help="seconds between progress lines inside an epoch")
    return p


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = build_parser()
    args = parser.parse_args(argv)
    recipe = RECIPES["scratch" if args.backbone == SCRATCH else "pretrained"]
    for name in ("epochs", "warmup_epochs", "lr", "batch_size"):
        if getattr(args, name) is None:
            setattr(args, name, getattr(recipe, name))
    positive = ["batch_size", "patience", "d_model", "layers", "heads", "max_length"]
    for name in positive:
        if getattr(args, name) < 1:
            parser.error(f"--{name.replace('_', '-')} must be at least 1, got {getattr(args, name)}")
    for name in ("epochs", "warmup_epochs"):
        if getattr(args, name) < 0:
            parser.error(f"--{name.replace('_', '-')} must be at least 0, got {getattr(args, name)}")
    if args.epochs + args.warmup_epochs < 1:
        parser.error("--epochs and --warmup-epochs are both 0: nothing to train")
    for name in ["max_steps", "threads", "ffn"]:
        if getattr(args, name) is not None and getattr(args, name) < 1:
            parser.error(f"--{name.replace('_', '-')} must be at least 1, got {getattr(args, name)}")
    if args.warmup_steps is not None and args.warmup_steps < 0:
        parser.error(f"--warmup-steps must be at least 0, got {args.warmup_steps}")
    if not args.lr > 0:
        parser.error(f"--lr must be positive, got {args.lr}")
    if not 0 < args.backbone_lr_factor <= 1:
        parser.error(f"--backbone-lr-factor must be in (0, 1], got {args.backbone_lr_factor}")
    if args.weight_decay < 0:
        parser.error(f"--weight-decay must be at least 0, got {args.weight_decay}")
    if not 0 <= args.val_fraction < 1:
        parser.error(f"--val-fraction must be in [0, 1), got {args.val_fraction}")
    for name in ("dropout", "omit_share"):
        if not 0 <= getattr(args, name) < 1:
            parser.error(f"--{name.replace('_', '-')} must be in [0, 1), got {getattr(args, name)}")
    if args.max_length < 2:
        parser.error(f"--max-length must be at least 2 (a word and <eos>), got {args.max_length}")
    if args.d_model % args.heads:
        parser.error(f"--d-model ({args.d_model}) must be divisible by --heads ({args.heads})")
    if len(args.widths) != 5 or min(args.widths) < 1:
        parser.error(f"--widths must be five positive integers, got {args.widths}")
    if len(args.depths) != 5 or min(args.depths) < 0:
        parser.error(f"--depths must be five non-negative integers, got {args.depths}")
    if args.backbone == SCRATCH:
        if args.backbone_weights is not None:
            parser.error("--backbone-weights only applies to a pretrained backbone, not scratch")
        if args.warmup_epochs:
            parser.error("--warmup-epochs freezes a pretrained backbone: it does not apply to scratch")
    else:
        try:
            args.backbone_weights = resolve_weights(args.backbone, args.backbone_weights)
        except BackboneError as e:
            parser.error(str(e))
    if not (args.data / "dataset.json").is_file():
        parser.error(f"--data: {args.data / 'dataset.json'} not found")
    return args


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    torch.use_deterministic_algorithms(True)


def _parameter_groups(model: FacetModel, lr: float, weight_decay: float, backbone_lr: float | None) -> list[dict]:
    """AdamW groups: no decay on biases, norms, embeddings and position tables (decay there only
    hurts); the backbone at `backbone_lr`, or left out (frozen) when it is None."""
    groups: dict[tuple[bool, bool], list] = {}
    for name, param in model.named_parameters():
        backbone = name.startswith("encoder.backbone.")
        if backbone and backbone_lr is None:
            continue
        decay = param.ndim >= 2 and "embedding" not in name and not name.endswith("position")
        groups.setdefault((backbone, decay), []).append(param)
    return [
        {"params": params, "lr": backbone_lr if backbone else lr, "weight_decay": weight_decay if decay else 0.0}
        for (backbone, decay), params in groups.items()
    ]


def _schedule(warmup: int, total: int):
    def factor(step: int) -> float:
        if step < warmup:
            return (step + 1) / warmup
        progress = min(1.0, (step - warmup) / max(1, total - warmup))
        return 0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * progress))

    return factor


def _lr_hint(args: argparse.Namespace) -> str:
    backbone = f", backbone {args.lr * args.backbone_lr_factor:.1e}" if args.backbone != SCRATCH else ""
    return f"try a lower learning rate than --lr {args.lr:.1e}{backbone} (e.g. --lr {args.lr / 4:.1e}); the best checkpoint so far is kept"


@dataclass
class Phase:
    name: str  # "warm-up" (backbone frozen, cached maps) or "fine-tune" / "train"
    epochs: int
    frozen: bool


class Trainer:
    """One run: the model, its data, and the two phases' loops. `run()` returns training.json's content."""

    def __init__(self, args: argparse.Namespace):
        self.args = args
        self.started = time.perf_counter()
        torch.set_num_threads(args.threads or os.cpu_count() or 1)
        seed_everything(args.seed)
        self.dataset = load_dataset(args.data)
        self.train_idx, self.val_idx, self.test_idx = dataset_splits(self.dataset, args.val_fraction, args.seed)
        if not self.train_idx:
            raise DatasetError(f"{args.data}: no products to train on")
        self.slots = slot_attributes_of(self.dataset)
        self.tokenizer = self._build_tokenizer()
        self.config = ModelConfig(
            vocab_size=self.tokenizer.vocab_size,
            attributes=[(a.name, len(a.labels)) for a in self.dataset.attributes],
            image_size=self.dataset.image_size,
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
        self.model = FacetModel(self.config, args.backbone_weights)
        self.weights = None if args.no_class_balance else class_weights(self.dataset, self.train_idx)
        self.augment = None if args.no_augment else Augmenter(args.seed)
        self.omission = Omission(args.seed, args.omit_share) if self.slots and args.omit_share > 0 else None
        self.phases = [p for p in (Phase("warm-up", args.warmup_epochs, True), Phase("fine-tune" if args.backbone != SCRATCH else "train", args.epochs, False)) if p.epochs]
        self.history: list[dict] = []
        self.best = {"loss": math.inf, "epoch": 0, "state": None, "val": None}
        self.steps = 0
        self.epoch = 0
        self.stopped = "epochs"
        self.photo_seconds: list[tuple[str, int, float]] = []  # (phase, photos, seconds) per epoch
        self.caches: dict[str, FeatureCache | None] = {}
        self.preprocessing = {
            "image_size": self.dataset.image_size,
            "resize": "pad",
            "background": list(self.dataset.background),
            "mean": list(IMAGENET_MEAN),
            "std": list(IMAGENET_STD),
            "max_photos": MAX_PHOTOS,
        }

    def _build_tokenizer(self) -> WordTokenizer:
        sequences = []
        try:
            for i in self.train_idx:
                product = self.dataset.products[i]
                sequences.append(target_words(self.dataset, product))
                # Every word a left-out attribute's fallback says ("piece") must be in the vocabulary too.
                sequences.append([w for s in product.segments or () if s.fallback for w in split_words(s.fallback)])
        except SegmentError as e:
            raise DatasetError(f"{self.args.data}: {e}") from e
        return WordTokenizer.from_sequences(sequences, self.slots)

    def log(self, text: str) -> None:
        print(text, flush=True)

    # ----- the loops ---------------------------------------------------------------------------

    def run(self) -> dict:
        args, d = self.args, self.dataset
        self.args.out.mkdir(parents=True, exist_ok=True)
        self.tokenizer.save(args.out / "tokenizer.json")
        parameters = sum(p.numel() for p in self.model.parameters())
        self.log(
            f"data {args.data}: {len(self.train_idx)} train / {len(self.val_idx)} val products ({len(self.test_idx)} test, never read), "
            f"{d.photo_count(self.train_idx)} / {d.photo_count(self.val_idx)} photos, {d.image_size} px, vocab {self.tokenizer.vocab_size}"
            + (f", slots {self.slots}" if self.slots else "")
        )
        self.log(
            f"model: backbone {args.backbone} ({'weights ' + str(args.backbone_weights) if args.backbone != SCRATCH else 'from scratch'}), "
            f"{parameters / 1e6:.2f} M parameters, threads {torch.get_num_threads()}; "
            + ", ".join(f"{p.name} {p.epochs} epoch(s)" for p in self.phases)
            + f"; lr {args.lr:.1e}" + (f", backbone ×{args.backbone_lr_factor}" if args.backbone != SCRATCH else "")
            + f"; batch {args.batch_size}; class-balanced {'no' if args.no_class_balance else 'yes'}"
        )
        try:
            for i, phase in enumerate(self.phases):
                self.run_phase(phase, later=self.phases[i + 1 :])
                if self.stopped in ("max-steps", "early-stopping"):
                    break
        except TrainingGuardError:
            self.stopped = "guard"
            self.write_summary(None)
            raise
        return self.finish()

    def run_phase(self, phase: Phase, later: list[Phase]) -> None:
        args = self.args
        frozen = phase.frozen
        cache = self._train_cache() if frozen else None
        steps_per_epoch = math.ceil(len(self.train_idx) / args.batch_size)
        planned = phase.epochs * steps_per_epoch
        if args.max_steps is not None:
            planned = min(planned, max(1, args.max_steps - self.steps))
        warmup = args.warmup_steps if args.warmup_steps is not None else min(300, max(1, planned // 20))
        backbone_lr = None if frozen else (args.lr * args.backbone_lr_factor if args.backbone != SCRATCH else args.lr)
        # After a warm-up the heads are trained already: fine-tuning moves them at half the rate.
        head_lr = args.lr / 2 if self.phases[0].frozen and not frozen else args.lr
        optimizer = torch.optim.AdamW(_parameter_groups(self.model, head_lr, args.weight_decay, backbone_lr), lr=head_lr)
        scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, _schedule(warmup, planned))
        self.model.encoder.backbone.requires_grad_(not frozen)
        if not frozen and self.caches:
            # Only the frozen phases read them: hundreds of MB given back before the backbone trains.
            self.caches = {}
            gc.collect()
        photos_per_epoch = self.dataset.photo_count(self.train_idx)
        phase_start = self.epoch
        self.phase_best = math.inf
        # Per phase: fine-tuning starts above the warm-up's last loss (augmentation, a new schedule).
        guard = LossGuard(_lr_hint(args), patience=max(100, steps_per_epoch))
        view_generator = torch.Generator().manual_seed(args.seed * 7919 + phase_start)
        for epoch_in_phase in range(1, phase.epochs + 1):
            self.epoch += 1
            self.model.train()
            remaining = (phase.epochs - epoch_in_phase) * photos_per_epoch + sum(p.epochs for p in later) * photos_per_epoch
            progress = Progress(f"epoch {self.epoch} ({phase.name} {epoch_in_phase}/{phase.epochs})", photos_per_epoch, remaining, args.progress_seconds)
            t0 = time.perf_counter()
            for chunk in batch_indices(self.train_idx, args.batch_size, shuffle_seed=args.seed * 100_003 + self.epoch):
                batch = make_batch(self.dataset, chunk, self.tokenizer, self.config.max_length, self.omission)
                if cache is not None:
                    encoded = self.model.encode_maps(cache.take(batch.photos.tolist(), view_generator), batch.photo_mask)
                elif frozen:
                    with torch.no_grad():
                        maps = self.model.encoder.backbone_map(_normalised(batch, self.augment))
                    encoded = self.model.encode_maps(maps, batch.photo_mask)
                else:
                    encoded = self.model.encode_products(batch.images, batch.photo_mask, self.augment)
                loss = self.model.losses(encoded, batch, self.weights).total
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                torch.nn.utils.clip_grad_norm_(self.model.parameters(), 1.0)
                optimizer.step()
                scheduler.step()
                self.steps += 1
                value = float(loss)
                guard.step(value)
                progress.step(int(batch.photo_mask.sum()), value)
                if args.max_steps is not None and self.steps >= args.max_steps:
                    self.stopped = "max-steps"
                    break
            seconds = time.perf_counter() - t0
            self.photo_seconds.append((phase.name, progress.done, seconds))
            train_loss = progress.loss_sum / max(1, progress.steps)
            self.end_epoch(phase, train_loss, seconds, progress.done, scheduler.get_last_lr()[0])
            if self.stopped == "max-steps":
                return
            # Patience counts from the start of the phase: fine-tuning always gets that many epochs.
            if self.val_idx and self.epoch - max(self.best["epoch"], phase_start) >= args.patience:
                self.stopped = "early-stopping"
                self.log(f"early stopping: no better validation loss for {args.patience} epochs; keeping epoch {self.best['epoch']}")
                return

    def _train_cache(self) -> FeatureCache | None:
        """The warm-up's cached maps (training photos mirrored too, validation photos as they are), or None when too large."""
        if "train" not in self.caches:
            d = self.dataset
            train_photos = [im for i in self.train_idx for im in d.products[i].images]
            val_photos = [im for i in self.val_idx for im in d.products[i].images]
            views = 1 if self.args.no_augment else 2
            needed = estimate_megabytes(self.model, len(train_photos), views) + estimate_megabytes(self.model, len(val_photos), 1)
            if needed > self.args.feature_cache_mb:
                self.log(f"  warm-up runs the frozen backbone each step: its cache would take {needed:.0f} MB (--feature-cache-mb {self.args.feature_cache_mb})")
                self.caches = {"train": None, "val": None}
            else:
                self.caches = {
                    "train": build_cache(self.model, d.images, train_photos, mirrored=views == 2, label="training photos"),
                    "val": build_cache(self.model, d.images, val_photos, mirrored=False, label="validation photos") if val_photos else None,
                }
        return self.caches["train"]

    def end_epoch(self, phase: Phase, train_loss: float, seconds: float, photos: int, lr: float) -> None:
        t1 = time.perf_counter()
        val = self.validate(phase) if self.val_idx else None
        val_seconds = time.perf_counter() - t1
        current = val["loss"] if val else -self.epoch  # with no validation split the last epoch is the one kept
        if val:
            # Against this phase's best: the switch to fine-tuning first costs some validation loss.
            check_validation(self.epoch, val["loss"], self.phase_best, self.best["epoch"], _lr_hint(self.args))
            self.phase_best = min(self.phase_best, val["loss"])
        improved = current < self.best["loss"]
        if improved:
            self.best = {"loss": current, "epoch": self.epoch, "state": copy.deepcopy(self.model.state_dict()), "val": val}
            save_checkpoint(self.args.out / "model.pt", self.model, self.dataset.attributes, self.tokenizer, self.preprocessing, self.best["state"])
        self.history.append(
            {"epoch": self.epoch, "phase": phase.name, "steps": self.steps, "train_loss": train_loss, "val": val, "seconds": seconds, "val_seconds": val_seconds}
        )
        line = f"epoch {self.epoch} {phase.name} step {self.steps} lr {lr:.2e} train loss {train_loss:.4f} ({seconds:.1f} s, {photos / seconds:.0f} photos/s)"
        if val:
            accs = " ".join(f"{name} {_fmt(acc)}" for name, acc in val["attributes"].items())
            line += f" | val loss {val['loss']:.4f} text {val['text_loss']:.4f} tokens {_fmt(val['token_accuracy'])} {accs} ({val_seconds:.1f} s)"
        self.log(line + (" *" if improved else ""))
        self.write_summary(None)

    @torch.no_grad()
    def validate(self, phase: Phase) -> dict:
        """Validation loss, attribute accuracies and next-token accuracy; the collapse guard.

        The loss that picks the best epoch is the negative log-likelihood per labelled prediction of
        the heads with at least MIN_SUPPORT labelled validation products, each after its own fitted
        temperature (the text's loss only when no head has that many).
        """
        self.model.eval()
        attributes = self.dataset.attributes
        probs_of: list[list[torch.Tensor]] = [[] for _ in attributes]
        labels_of: list[list[torch.Tensor]] = [[] for _ in attributes]
        truth: list[list[str]] = [[] for _ in attributes]
        guesses: list[list[str]] = [[] for _ in attributes]
        text_sum = 0.0
        token_hits = token_total = 0
        cache = self.caches.get("val") if phase.frozen else None
        for chunk in batch_indices(self.val_idx, max(self.args.batch_size, 32)):
            batch = make_batch(self.dataset, chunk, self.tokenizer, self.config.max_length)
            if cache is not None:
                encoded = self.model.encode_maps(cache.take(batch.photos.tolist()), batch.photo_mask)
            else:
                encoded = self.model.encode_products(batch.images, batch.photo_mask)
            for a, (attribute, probs) in enumerate(zip(attributes, encoded.probs)):
                labels = batch.labels[:, a]
                known = labels >= 0
                probs_of[a].append(probs[known])
                labels_of[a].append(labels[known])
                truth[a] += [attribute.labels[j] for j in labels[known].tolist()]
                guesses[a] += [attribute.labels[j] for j in probs.argmax(dim=1)[known].tolist()]
            real = batch.targets != PAD_ID
            if real.any():
                logits, _ = self.model.decoder(batch.tokens, self.model.decoder.empty_past(len(chunk)), encoded.memory, encoded.memory_mask)
                text_sum += float(torch.nn.functional.cross_entropy(logits[real], batch.targets[real], reduction="sum"))
                token_hits += int((logits.argmax(dim=-1)[real] == batch.targets[real]).sum())
                token_total += int(real.sum())
        for attribute, t, g in zip(attributes, truth, guesses):
            check_collapse(attribute.name, t, g, _lr_hint(self.args))
        nll: dict[str, float] = {}  # summed over the head's labelled products, after temperature scaling
        for i, a in enumerate(attributes):
            if len(truth[i]) >= MIN_SUPPORT:
                p, y = torch.cat(probs_of[i]), torch.cat(labels_of[i])
                calibrated = apply_temperature(p, fit_temperature(p, y))
                nll[a.name] = float(-torch.log(calibrated.clamp_min(1e-8)).gather(1, y.unsqueeze(1)).sum())
        labelled = sum(len(truth[i]) for i, a in enumerate(attributes) if a.name in nll)
        heads = {a.name: nll[a.name] / len(truth[i]) for i, a in enumerate(attributes) if a.name in nll}
        text_loss = text_sum / token_total if token_total else 0.0
        return {
            # Per labelled prediction, pooled over the heads (20 metal labels weigh as 20, not as 300),
            # and after temperature scaling: serving calibrates, so an epoch is not judged on the
            # over-confidence calibration removes, only on how well it ranks the labels. The text is
            # left out: it states nothing but the heads' labels, its house-style words are learnt in
            # the first epoch (next-token accuracy ≥ 97%), and what varies after that is which
            # attributes the targets happen to leave out, noise that picked a worse model.
            "loss": sum(nll.values()) / max(1, labelled) if nll else text_loss,
            "head_losses": heads,
            "text_loss": text_loss,
            "token_accuracy": token_hits / token_total if token_total else None,
            "attributes": {a.name: (sum(x == y for x, y in zip(t, g)) / len(t) if t else None) for a, t, g in zip(attributes, truth, guesses)},
        }

    # ----- after training -----------------------------------------------------------------------

    def finish(self) -> dict:
        """Best epoch's weights; familiarity and calibration fitted; the final checkpoint and a greedy check on validation."""
        self.model.load_state_dict(self.best["state"])
        self.caches = {}
        t0 = time.perf_counter()
        familiarity = fit_familiarity(self.model, self.dataset, self.train_idx, self.val_idx)
        calibration = self._fit_calibration()
        self.log(
            f"familiarity: threshold {familiarity['threshold']} ({familiarity['percentile']}th percentile of {familiarity['fitted_on']}); "
            + "calibration: "
            + ", ".join(
                f"{n} T={c['temperature']}" if c["temperature"] is not None else f"{n} not calibrated ({c['support']} labelled)"
                for n, c in calibration["attributes"].items()
            )
            + f" ({time.perf_counter() - t0:.1f} s)"
        )
        fitted = {"attributes": [a.to_json() for a in self.dataset.attributes], "calibration": calibration, "familiarity": familiarity}
        final = shift = None
        if self.val_idx:
            t2 = time.perf_counter()
            policy = Policy.from_manifest(fitted, DEFAULT_REVIEW_THRESHOLD)
            predictions = predict(self.model, self.tokenizer, self.dataset, self.val_idx, 32, policy)
            # The run-level shift baseline: how often validation products give the unusual signal.
            probe = dataclasses.replace(policy, shift=signal(names := [a.name for a in self.dataset.attributes]))
            shift = fit_shift([bool(probe.unusual(dict(zip(names, (max(p) for p in pred.probs))), pred.familiarity)) for pred in predictions], probe.shift)
            final = score(self.dataset, self.val_idx, predictions, policy)
            for name in final["attributes"]:
                final["attributes"][name].pop("reliability", None)
            self.log(
                f"best epoch {self.best['epoch']} on val, greedy: "
                + " ".join(f"{n} {_fmt(m['accuracy'])}" for n, m in final["attributes"].items())
                + f" bleu4 {_fmt(final['bleu4'])} consistency {_fmt(final['consistency'])} review share {_fmt(final['review']['share'])}"
                f" unusual share {_fmt(shift['validation_share'])} ({time.perf_counter() - t2:.1f} s)"
            )
        save_checkpoint(
            self.args.out / "model.pt", self.model, self.dataset.attributes, self.tokenizer, self.preprocessing,
            extra={"calibration": calibration, "familiarity": familiarity, **({"shift": shift} if shift else {})},
        )
        summary = self.write_summary(final, calibration, familiarity)
        self.log(f"wrote {self.args.out / 'model.pt'} (epoch {self.best['epoch']}), {self.args.out / 'training.json'}; {format_duration(summary['seconds'])} in all")
        return summary

    def _fit_calibration(self) -> dict:
        names = [a.name for a in self.dataset.attributes]
        if not self.val_idx:
            return {"method": "temperature", "fitted_on": None, "attributes": {n: {"temperature": None, "support": 0, "status": "insufficient_data"} for n in names}}
        probs: list[list[torch.Tensor]] = [[] for _ in names]
        labels = []
        self.model.eval()
        with torch.no_grad():
            for chunk in batch_indices(self.val_idx, 32):
                batch = make_batch(self.dataset, chunk, None, self.config.max_length)
                encoded = self.model.encode_products(batch.images, batch.photo_mask)
                for a, p in enumerate(encoded.probs):
                    probs[a].append(p)
                labels.append(batch.labels)
        return fit_calibration(names, [torch.cat(p) for p in probs], torch.cat(labels))

    def write_summary(self, final: dict | None, calibration: dict | None = None, familiarity: dict | None = None) -> dict:
        """training.json; written after every epoch too, so that an interrupted run can still be exported."""
        args, d = self.args, self.dataset
        seconds_by_phase = {}
        for name, photos, seconds in self.photo_seconds:
            p, s = seconds_by_phase.get(name, (0, 0.0))
            seconds_by_phase[name] = (p + photos, s + seconds)
        summary = {
            "dataset": {
                "path": str(args.data),
                "source": d.source,
                "image_size": d.image_size,
                "hash": d.meta.get("hash"),
                "splits": {
                    name: {"products": len(idx), "images": d.photo_count(idx), "labels": d.label_counts(idx)}
                    for name, idx in (("train", self.train_idx), ("val", self.val_idx))
                },
                "test_products": len(self.test_idx),
                "references_truncated": sum(
                    1 for i in self.train_idx if (w := target_words(d, d.products[i])) is not None and len(w) > args.max_length - 1
                ),
            },
            "backbone": args.backbone,
            "backbone_weights": str(args.backbone_weights) if args.backbone_weights else None,
            "seed": args.seed,
            "epochs": self.epoch,
            "steps": self.steps,
            "seconds": round(time.perf_counter() - self.started, 1),
            "best_epoch": self.best["epoch"],
            "stopped": self.stopped,
            "photos_per_second": {name: round(p / s, 1) for name, (p, s) in seconds_by_phase.items() if s},
            "threads": torch.get_num_threads(),
            "parameters": sum(p.numel() for p in self.model.parameters()),
            "slots": self.slots,
            "hyperparameters": {
                "phases": [{"name": p.name, "epochs": p.epochs, "backbone": "frozen" if p.frozen else "trained"} for p in self.phases],
                "max_steps": args.max_steps,
                "batch_size": args.batch_size,
                "lr": args.lr,
                "backbone_lr": args.lr * args.backbone_lr_factor if args.backbone != SCRATCH else args.lr,
                "weight_decay": args.weight_decay,
                "schedule": "per phase: linear warm-up, cosine to 5%",
                "val_fraction": args.val_fraction,
                "patience": args.patience,
                "augment": not args.no_augment,
                "class_balanced": not args.no_class_balance,
                "omit_share": args.omit_share if self.slots else None,
                **{k: v for k, v in self.config.to_json().items() if k not in ("attributes", "vocab_size", "image_size", "backbone")},
            },
            "validation": {"teacher_forced": self.best["val"], "greedy": final},
            "calibration": calibration,
            "familiarity": familiarity,
            "history": self.history,
        }
        write_json(args.out / "training.json", summary)
        return summary


def _normalised(batch, augment) -> torch.Tensor:
    """A batch's real photos as the encoder's normalised input (augmented when given an augmenter)."""
    photos = batch.images[batch.photo_mask.bool()].float() / 255.0
    return normalise_images(augment(photos) if augment is not None else photos)


def _fmt(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"


def train(args: argparse.Namespace) -> dict:
    return Trainer(args).run()


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        train(args)
    except DatasetError as e:
        print(f"facet_train.train: {e}", file=sys.stderr)
        return 1
    except TrainingGuardError as e:
        print(f"facet_train.train: stopped: {e}", file=sys.stderr)
        return 3
    return 0


if __name__ == "__main__":
    reexec_with_malloc_tunables()
    sys.exit(main())
