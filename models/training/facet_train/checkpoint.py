"""model.pt: the trained weights with everything needed to rebuild and run them."""

from __future__ import annotations

from pathlib import Path

import torch

from .data import Attribute
from .model import FacetModel, ModelConfig
from .tokenizer import WordTokenizer

FORMAT = "facet-checkpoint/1"


class CheckpointError(ValueError):
    """A model.pt that this code cannot read."""


def save_checkpoint(
    path: Path,
    model: FacetModel,
    attributes: list[Attribute],
    tokenizer: WordTokenizer,
    preprocessing: dict,
    state_dict: dict | None = None,
    extra: dict | None = None,
) -> None:
    """`extra`: what was fitted after training (`calibration`, `familiarity`, `shift`), copied into the bundle's manifest."""
    torch.save(
        {
            "format": FORMAT,
            "config": model.config.to_json(),
            "state_dict": state_dict if state_dict is not None else model.state_dict(),
            "attributes": [a.to_json() for a in attributes],
            "tokenizer": tokenizer.to_json(),
            "preprocessing": preprocessing,
            **(extra or {}),
        },
        path,
    )


class LoadedCheckpoint:
    def __init__(self, raw: dict):
        self.raw = raw
        self.config = ModelConfig(**raw["config"])
        self.attributes = [Attribute(a["name"], tuple(a["labels"])) for a in raw["attributes"]]
        self.tokenizer = WordTokenizer.from_json(raw["tokenizer"])
        self.preprocessing = raw["preprocessing"]
        self.calibration: dict | None = raw.get("calibration")
        self.familiarity: dict | None = raw.get("familiarity")
        self.shift: dict | None = raw.get("shift")
        # No backbone weights here: the state dict carries every weight, backbone included.
        self.model = FacetModel(self.config, backbone_weights=None)
        self.model.load_state_dict(raw["state_dict"])
        self.model.eval()


def load_checkpoint(path: Path) -> LoadedCheckpoint:
    if not path.is_file():
        raise CheckpointError(f"{path}: not found")
    raw = torch.load(path, map_location="cpu")
    if not isinstance(raw, dict) or raw.get("format") != FORMAT:
        raise CheckpointError(f"{path}: format must be {FORMAT!r}, got {raw.get('format') if isinstance(raw, dict) else type(raw).__name__!r}")
    return LoadedCheckpoint(raw)
