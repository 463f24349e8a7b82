"""Confidence you can act on: temperature scaling per attribute head, fitted on the validation split,
and the calibration error that says whether it worked.

A product's probabilities are the mean of its photos' softmax outputs; calibration raises them to
1/T and renormalises, which is temperature scaling of their logarithms (T > 1 softens an
over-confident head). The runtime applies the same formula (models/runtime/calibration.ts).
"""

from __future__ import annotations

import math
from typing import Sequence

import torch

# Fewer labelled validation products than this: the head's temperature can't be fitted, so its
# label is never stated in the text nor trusted by the review gate (the manifest says why).
MIN_SUPPORT = 20
ECE_BINS = 15
_T_RANGE = (0.05, 20.0)


def apply_temperature(probs: torch.Tensor, temperature: float) -> torch.Tensor:
    """normalise(probs ** (1 / T)) along the last axis (probs [..., C])."""
    if temperature == 1.0:
        return probs
    logp = torch.log(probs.clamp_min(1e-12)) / temperature
    return torch.softmax(logp, dim=-1)


def _nll(probs: torch.Tensor, labels: torch.Tensor, temperature: float) -> float:
    calibrated = apply_temperature(probs, temperature)
    return float(-torch.log(calibrated[torch.arange(len(labels)), labels].clamp_min(1e-12)).mean())


def fit_temperature(probs: torch.Tensor, labels: torch.Tensor, iterations: int = 60) -> float:
    """The temperature minimising the negative log-likelihood of `labels` (golden-section search on log T).

    The likelihood is unimodal in log T for a fixed set of probabilities, so the search finds its minimum.
    """
    lo, hi = math.log(_T_RANGE[0]), math.log(_T_RANGE[1])
    ratio = (math.sqrt(5) - 1) / 2
    a, b = hi - ratio * (hi - lo), lo + ratio * (hi - lo)
    fa, fb = _nll(probs, labels, math.exp(a)), _nll(probs, labels, math.exp(b))
    for _ in range(iterations):
        if fa < fb:
            hi, b, fb = b, a, fa
            a = hi - ratio * (hi - lo)
            fa = _nll(probs, labels, math.exp(a))
        else:
            lo, a, fa = a, b, fb
            b = lo + ratio * (hi - lo)
            fb = _nll(probs, labels, math.exp(b))
    return round(math.exp((lo + hi) / 2), 4)


def reliability(confidences: Sequence[float], correct: Sequence[bool], bins: int = ECE_BINS) -> list[dict]:
    """Equal-width confidence bins: count, mean confidence and accuracy of each non-empty one."""
    out = []
    for b in range(bins):
        lo, hi = b / bins, (b + 1) / bins
        members = [(c, k) for c, k in zip(confidences, correct) if (lo < c <= hi) or (b == 0 and c == 0)]
        if members:
            out.append({
                "from": round(lo, 4),
                "to": round(hi, 4),
                "count": len(members),
                "confidence": sum(c for c, _ in members) / len(members),
                "accuracy": sum(k for _, k in members) / len(members),
            })
    return out


def expected_calibration_error(confidences: Sequence[float], correct: Sequence[bool], bins: int = ECE_BINS) -> float | None:
    """Σ over bins of (share of products in the bin) × |accuracy − mean confidence|; None with no products."""
    if not confidences:
        return None
    n = len(confidences)
    return sum(b["count"] / n * abs(b["accuracy"] - b["confidence"]) for b in reliability(confidences, correct, bins))


def fit_calibration(attributes: Sequence[str], probs: Sequence[torch.Tensor], labels: torch.Tensor) -> dict:
    """The manifest's `calibration` block from validation probabilities (per attribute [N, C]) and labels [N, A] (-100 = unknown)."""
    out: dict[str, dict] = {}
    for a, name in enumerate(attributes):
        known = labels[:, a] >= 0
        support = int(known.sum())
        if support < MIN_SUPPORT:
            out[name] = {"temperature": None, "support": support, "status": "insufficient_data"}
            continue
        p, y = probs[a][known], labels[known, a]
        temperature = fit_temperature(p, y)
        before = _ece_of(p, y)
        after = _ece_of(apply_temperature(p, temperature), y)
        out[name] = {"temperature": temperature, "support": support, "status": "calibrated", "ece_before": before, "ece_after": after}
    return {"method": "temperature", "fitted_on": "val", "min_support": MIN_SUPPORT, "bins": ECE_BINS, "attributes": out}


def _ece_of(probs: torch.Tensor, labels: torch.Tensor) -> float | None:
    confidence, predicted = probs.max(dim=1)
    ece = expected_calibration_error(confidence.tolist(), (predicted == labels).tolist())
    return None if ece is None else round(ece, 4)
