"""Run-level shift: whether a run's photos, taken together, are unlike the bundle's training photos.

One product's familiarity can't tell the synthetic demo bundle's renders from real photos (their
distributions overlap), yet such a bundle is confidently wrong on them. Taken together they are
plain: the demo bundle sends about 3% of its validation renders to review but a quarter of real
photos. So each product gets one *unusual* signal, fixed by the bundle (its calibrated confidence
in `attribute` below `confidence_below`, or its familiarity above the familiarity threshold), and
its rate on the validation split is stored in the manifest (`shift.validation_share`). A run whose
unusual share is, with high confidence, well above that rate is *shifted*: every product of it goes
to review as `unfamiliar_photo`, none is applied (Rabanser et al., "Failing Loudly", 2019: detect
dataset shift on aggregated model outputs).

The test: shifted when the Wilson lower bound (z = Z) of the run's unusual share is above
max(FACTOR × baseline, baseline + MARGIN). Apply runs hold their first MIN_PRODUCTS results until
the run has shown which it is. The same rules as models/runtime/run-shift.ts.
"""

from __future__ import annotations

import math
from typing import Sequence

MIN_PRODUCTS = 200  # results an apply run holds before the first verdict
Z = 4.0  # one-sided, about 3e-5: a run is checked after every batch
FACTOR = 3.0
MARGIN = 0.05
CONFIDENCE_BELOW = 0.9  # the signal's confidence bar, fixed by the bundle (not REVIEW_THRESHOLD)
PREFERRED_ATTRIBUTE = "category"


def wilson_lower(unusual: int, products: int, z: float = Z) -> float:
    """Lower Wilson score bound of the share unusual/products."""
    if products <= 0:
        return 0.0
    p = unusual / products
    z2 = z * z
    centre = p + z2 / (2 * products)
    spread = z * math.sqrt(p * (1 - p) / products + z2 / (4 * products * products))
    return max(0.0, (centre - spread) / (1 + z2 / products))


def bound(baseline: float) -> float:
    """The unusual share a run must exceed (with confidence) to be shifted."""
    return min(1.0, max(FACTOR * baseline, baseline + MARGIN))


def verdict(products: int, unusual: int, baseline: float) -> str:
    """`shifted`, `familiar` (enough products, not shifted) or `gathering` (too few to release held results)."""
    if wilson_lower(unusual, products) > bound(baseline):
        return "shifted"
    return "familiar" if products >= MIN_PRODUCTS else "gathering"


def signal(names: Sequence[str]) -> dict:
    """The unusual signal's definition for a bundle with these attribute names."""
    return {"attribute": PREFERRED_ATTRIBUTE if PREFERRED_ATTRIBUTE in names else names[0], "confidence_below": CONFIDENCE_BELOW}


def is_unusual(shift: dict, confidences: dict[str, float], trusted: bool, unfamiliar: bool) -> bool:
    """The product's unusual signal under the manifest's `shift` block: unfamiliar photos, or a
    trusted head's confidence in the shift attribute below its bar."""
    attribute = shift["attribute"]
    return unfamiliar or (trusted and attribute in confidences and confidences[attribute] < shift["confidence_below"])


def fit_shift(signals: Sequence[bool], definition: dict) -> dict:
    """The manifest's `shift` block from the validation products' unusual signals under `definition`
    (signal()); the share is Laplace-smoothed, so a clean validation split still leaves a non-zero baseline."""
    n = len(signals)
    return {
        **definition,
        "statistic": f"share of a run's products with calibrated {definition['attribute']} confidence below {definition['confidence_below']} or familiarity above its threshold",
        "validation_share": round((sum(signals) + 1) / (n + 2), 5),
        "validation_products": n,
        "validation_unusual": int(sum(signals)),
        "fitted_on": "val",
    }
