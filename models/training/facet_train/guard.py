"""Stopping a run that has gone wrong, with a message that says what happened and what to try.

Two failures waste a CPU-hour each and look fine in a loss curve printed once per epoch: the loss
running away (a learning rate too high for a pretrained backbone), and a head collapsing onto one
class (every photo "ring"). The guard watches for both; the best checkpoint so far stays on disk.
"""

from __future__ import annotations

import math
from collections import Counter
from typing import Sequence


class TrainingGuardError(RuntimeError):
    """Training stopped because it diverged; the message names what and suggests a fix."""


# The smoothed training loss may reach this multiple of its lowest value before the run is stopped.
# Generous: a batch's loss varies with which heads its products have labels for.
DIVERGENCE_FACTOR = 3.0
# Validation loss this far above the phase's best epoch stops the run (early stopping only waits).
VAL_RISE_FACTOR = 2.0
# A head predicting one label for this share of validation products, whose true share is at most
# COLLAPSE_TRUE_SHARE, has collapsed.
COLLAPSE_SHARE = 0.9
COLLAPSE_TRUE_SHARE = 0.6
COLLAPSE_MIN_PRODUCTS = 20
SMOOTHING = 0.02


class LossGuard:
    """Watches each optimiser step's training loss (an exponential moving average, compared after `patience` steps)."""

    def __init__(self, lr_hint: str, patience: int = 100):
        self.lr_hint = lr_hint
        self.patience = patience
        self.steps = 0
        self.smoothed: float | None = None
        self.lowest = math.inf

    def step(self, loss: float) -> None:
        if not math.isfinite(loss):
            raise TrainingGuardError(f"training loss is {loss} at step {self.steps + 1}: training diverged; {self.lr_hint}")
        self.steps += 1
        self.smoothed = loss if self.smoothed is None else (1 - SMOOTHING) * self.smoothed + SMOOTHING * loss
        if self.steps < self.patience:
            return
        self.lowest = min(self.lowest, self.smoothed)
        if self.smoothed > DIVERGENCE_FACTOR * self.lowest:
            raise TrainingGuardError(
                f"training loss rose to {self.smoothed:.3f} (smoothed) from its lowest {self.lowest:.3f} at step {self.steps}: "
                f"training is diverging; {self.lr_hint}"
            )


def check_validation(epoch: int, val_loss: float, phase_best: float, best_epoch: int, lr_hint: str) -> None:
    """`phase_best`: the lowest validation loss of this phase so far (inf in its first epoch)."""
    if math.isfinite(phase_best) and val_loss > VAL_RISE_FACTOR * phase_best:
        raise TrainingGuardError(
            f"validation loss rose to {val_loss:.3f} at epoch {epoch}, from {phase_best:.3f} earlier in this phase "
            f"(best epoch so far: {best_epoch}): {lr_hint}"
        )


def check_collapse(attribute: str, truth: Sequence[str], predicted: Sequence[str], lr_hint: str) -> None:
    """Raises when `predicted` puts nearly every product in one label that the truth rarely has."""
    if len(truth) < COLLAPSE_MIN_PRODUCTS or len(set(truth)) < 2:
        return
    label, count = Counter(predicted).most_common(1)[0]
    share = count / len(predicted)
    true_share = sum(t == label for t in truth) / len(truth)
    if share >= COLLAPSE_SHARE and true_share <= COLLAPSE_TRUE_SHARE:
        raise TrainingGuardError(
            f"the {attribute} head predicts {label!r} for {share:.0%} of validation products (their true share: {true_share:.0%}): "
            f"its predictions collapsed onto one class; {lr_hint}"
        )
