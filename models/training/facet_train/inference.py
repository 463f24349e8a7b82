"""Running a trained model over a dataset's products, the way the runtime does (calibrated
probabilities, constrained decoding, the review policy)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import torch

from .calibration import apply_temperature
from .data import FacetDataset, batch_indices, make_batch
from .model import FacetModel, greedy_decode
from .policy import Policy
from .shift import bound, verdict
from .tokenizer import EOS_ID, WordTokenizer


@dataclass
class ProductPrediction:
    id: str
    probs: list[list[float]]  # per attribute: mean of the photos' probabilities, calibrated
    labels: list[str]  # per attribute: argmax of `probs`
    tokens: list[int]  # greedy ids, no <bos>, up to and including <eos>
    text: str
    stated: dict[str, str]  # the labels the text may state (slot fills)
    familiarity: float | None
    review: list[str]  # reasons for review; empty: applied
    unusual: bool | None = None  # the run-level shift signal (shift.py); None: the bundle has none


def banned_slots(tokenizer: WordTokenizer, stated: dict[str, str]) -> set[int]:
    """Slot ids a product must not emit: those of attributes the text may not state."""
    return {token for attribute, token in tokenizer.slots.items() if attribute not in stated}


@torch.no_grad()
def predict(
    model: FacetModel,
    tokenizer: WordTokenizer,
    dataset: FacetDataset,
    indices: Sequence[int],
    batch_size: int = 64,
    policy: Policy | None = None,
) -> list[ProductPrediction]:
    """Calibrated attribute probabilities (mean over photos), constrained greedy text through the decoder's cache path, review reasons."""
    policy = policy or Policy()
    model.eval()
    names = [a.name for a in dataset.attributes]
    out: list[ProductPrediction] = []
    for chunk in batch_indices(indices, batch_size):
        batch = make_batch(dataset, chunk, None, model.config.max_length)
        encoded = model.encode_products(batch.images, batch.photo_mask)
        probs = [apply_temperature(p, policy.temperatures.get(n) or 1.0) for n, p in zip(names, encoded.probs)]
        rows = []
        for b in range(len(chunk)):
            labels = {n: a.labels[int(p[b].argmax())] for n, a, p in zip(names, dataset.attributes, probs)}
            confidences = {n: float(p[b].max()) for n, p in zip(names, probs)}
            familiarity = float(encoded.familiarity[b]) if encoded.familiarity is not None else None
            rows.append((labels, confidences, familiarity, policy.stated(labels, confidences), policy.unusual(confidences, familiarity)))
        sequences = greedy_decode(
            model.decoder, encoded.memory, encoded.memory_mask, banned=[banned_slots(tokenizer, stated) for *_, stated, _ in rows], once=frozenset(tokenizer.slots.values())
        )
        for b, (pid, (labels, confidences, familiarity, stated, unusual)) in enumerate(zip(batch.ids, rows)):
            out.append(
                ProductPrediction(
                    pid,
                    [p[b].tolist() for p in probs],
                    [labels[n] for n in names],
                    sequences[b],
                    tokenizer.decode(sequences[b], stated),
                    stated,
                    familiarity,
                    policy.review(confidences, familiarity, text_complete=sequences[b][-1:] == [EOS_ID]),
                    unusual,
                )
            )
    return out


def apply_run_shift(predictions: Sequence[ProductPrediction], policy: Policy) -> dict | None:
    """Treats `predictions` as one finished run: when its unusual share says the photos as a whole
    are unlike the training photos (shift.verdict), every product goes to review as
    `unfamiliar_photo` (in place). Returns the run's shift figures (None: the bundle has no baseline)."""
    if policy.shift is None:
        return None
    products = len(predictions)
    unusual = sum(bool(p.unusual) for p in predictions)
    baseline = policy.shift["validation_share"]
    state = verdict(products, unusual, baseline)
    if state == "shifted":
        for p in predictions:
            if "unfamiliar_photo" not in p.review:
                p.review.insert(0, "unfamiliar_photo")
    return {
        "products": products,
        "unusual": unusual,
        "share": unusual / products if products else None,
        "baseline": baseline,
        "bound": bound(baseline),
        "verdict": state,
    }
