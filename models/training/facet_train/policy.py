"""What a bundle says and what it sends to a person: the serving policy, as the runtime applies it
(models/runtime/review-policy.ts), so that evaluation measures what serving does.

- Probabilities are calibrated by each head's temperature (calibration.py).
- An attribute is *stated* (its slot may be filled in the text) when its head is calibrated, its
  label is not "none", and its calibrated confidence reaches the review threshold. Otherwise the
  text leaves it out.
- A product goes to review when its photos are unfamiliar (familiarity above the manifest's
  threshold: `unfamiliar_photo`) or a gated attribute whose head is calibrated is below the
  threshold (`low_confidence`), or its text ran to the decoder's length limit without ending
  (`text_incomplete`). Seller facts (`contradicts_seller`) are the pipeline's: they need
  the catalogue.
- A product is *unusual* (shift.py) when its calibrated confidence in the manifest's shift attribute
  is below its bar or its photos are unfamiliar; a run whose unusual share is well above the
  validation split's is shifted, and all of its products go to review as `unfamiliar_photo`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .shift import is_unusual

# The runtime's REVIEW_THRESHOLD and REVIEW_ATTRIBUTES defaults (shared/config/config.ts); `facet
# model evaluate` passes the configured values.
DEFAULT_REVIEW_THRESHOLD = 0.9
DEFAULT_REVIEW_ATTRIBUTES = ("category",)
NO_LABEL = "none"


@dataclass(frozen=True)
class Policy:
    temperatures: dict[str, float | None] = field(default_factory=dict)  # None: not calibrated (never stated, not gated)
    familiarity_threshold: float | None = None
    review_threshold: float = DEFAULT_REVIEW_THRESHOLD
    review_attributes: tuple[str, ...] = DEFAULT_REVIEW_ATTRIBUTES
    shift: dict | None = None  # the manifest's `shift` block (None: no run-level gate)

    @classmethod
    def from_manifest(cls, manifest: dict, review_threshold: float = DEFAULT_REVIEW_THRESHOLD, review_attributes=DEFAULT_REVIEW_ATTRIBUTES) -> "Policy":
        calibration = (manifest.get("calibration") or {}).get("attributes")
        names = [a["name"] for a in manifest["attributes"]]
        # A bundle from before calibration: every head trusted as it is (temperature 1).
        temperatures = {n: (calibration[n]["temperature"] if calibration and n in calibration else (None if calibration else 1.0)) for n in names}
        familiarity = manifest.get("familiarity") or {}
        return cls(temperatures, familiarity.get("threshold"), review_threshold, tuple(review_attributes), manifest.get("shift"))

    def trusted(self, attribute: str) -> bool:
        return self.temperatures.get(attribute, 1.0) is not None

    def stated(self, labels: dict[str, str], confidences: dict[str, float]) -> dict[str, str]:
        """The labels the text may state (slot fills)."""
        return {
            name: label
            for name, label in labels.items()
            if self.trusted(name) and label != NO_LABEL and confidences[name] >= self.review_threshold
        }

    def unusual(self, confidences: dict[str, float], familiarity: float | None) -> bool | None:
        """The product's run-level shift signal (None: the bundle has no shift baseline)."""
        if self.shift is None:
            return None
        return is_unusual(self.shift, confidences, self.trusted(self.shift["attribute"]), self.unfamiliar(familiarity))

    def unfamiliar(self, familiarity: float | None) -> bool:
        """Whether the photos' familiarity is above the bundle's threshold (never, for a bundle without one)."""
        return self.familiarity_threshold is not None and familiarity is not None and familiarity > self.familiarity_threshold

    def review(self, confidences: dict[str, float], familiarity: float | None, text_complete: bool = True) -> list[str]:
        """Reasons to send the product to a person (empty: it may be applied)."""
        reasons = []
        if self.unfamiliar(familiarity):
            reasons.append("unfamiliar_photo")
        if any(self.trusted(n) and confidences[n] < self.review_threshold for n in self.review_attributes if n in confidences):
            reasons.append("low_confidence")
        if not text_complete:
            reasons.append("text_incomplete")
        return reasons
