"""Photo backbones: torchvision architectures (Debian's python3-torchvision) with weights from a
local file, or Facet's small from-scratch CNN.

Nothing here downloads anything. A pretrained architecture takes its ImageNet weights from
`--backbone-weights FILE` (a torchvision state dict), or, when that is not given, from the file
torchvision itself would have downloaded into its cache (`$TORCH_HOME/hub/checkpoints/`, by
default `~/.cache/torch/hub/checkpoints/`), so a machine that once ran torchvision online has
them. `random` builds the architecture with random weights: it proves the training and export
path (the tests use it) but learns little on a CPU.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import torch
from torch import nn

RANDOM_WEIGHTS = "random"


class BackboneError(ValueError):
    """A backbone that can't be built: unknown architecture, missing or mismatched weights file."""


@dataclass(frozen=True)
class Architecture:
    name: str
    build: Callable[[], nn.Module]  # the whole torchvision classifier, random weights
    features: Callable[[nn.Module], nn.Module]  # its stride-32 feature extractor
    channels: int  # channels of the feature map
    torchvision_file: str  # the file name torchvision's ImageNet weights download as


def _torchvision():
    try:
        import torchvision.models as models
    except ImportError as e:  # pragma: no cover - .ci/run installs it
        raise BackboneError("pretrained backbones need Debian's python3-torchvision (apt-get install python3-torchvision)") from e
    return models


def _resnet_features(m: nn.Module) -> nn.Module:
    return nn.Sequential(m.conv1, m.bn1, m.relu, m.maxpool, m.layer1, m.layer2, m.layer3, m.layer4)


ARCHITECTURES: dict[str, Architecture] = {
    a.name: a
    for a in (
        Architecture("mobilenet_v2", lambda: _torchvision().mobilenet_v2(), lambda m: m.features, 1280, "mobilenet_v2-b0353104.pth"),
        Architecture("mobilenet_v3_large", lambda: _torchvision().mobilenet_v3_large(), lambda m: m.features, 960, "mobilenet_v3_large-8738ca79.pth"),
        Architecture("efficientnet_b0", lambda: _torchvision().efficientnet_b0(), lambda m: m.features, 1280, "efficientnet_b0_rwightman-3dd342df.pth"),
        Architecture("resnet50", lambda: _torchvision().resnet50(), _resnet_features, 2048, "resnet50-0676ba61.pth"),
        Architecture("convnext_tiny", lambda: _torchvision().convnext_tiny(), lambda m: m.features, 768, "convnext_tiny-983f1562.pth"),
    )
}
SCRATCH = "scratch"
BACKBONE_NAMES = (SCRATCH, *ARCHITECTURES)


def torchvision_cache_file(name: str) -> Path:
    """Where torchvision keeps the downloaded ImageNet weights of architecture `name`."""
    home = Path(os.environ.get("TORCH_HOME") or Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "torch")
    return home / "hub" / "checkpoints" / ARCHITECTURES[name].torchvision_file


def resolve_weights(name: str, weights: str | None) -> str:
    """The weights file (or RANDOM_WEIGHTS) a pretrained architecture trains from; raises naming where it looked."""
    if name not in ARCHITECTURES:
        raise BackboneError(f"unknown backbone {name!r} (choose one of {', '.join(BACKBONE_NAMES)})")
    if weights == RANDOM_WEIGHTS:
        return weights
    if weights is not None:
        if not Path(weights).is_file():
            raise BackboneError(f"--backbone-weights: {weights} is not a file")
        return weights
    cached = torchvision_cache_file(name)
    if cached.is_file():
        return str(cached)
    raise BackboneError(
        f"--backbone {name} needs ImageNet weights: give --backbone-weights FILE (a torchvision state dict), "
        f"or put torchvision's {ARCHITECTURES[name].torchvision_file} in {cached.parent} "
        f"(--backbone-weights random trains from random weights, for tests only)"
    )


class PretrainedBackbone(nn.Module):
    """A torchvision architecture's feature extractor (stride 32).

    Batch-norm statistics stay frozen (eval mode) while the rest trains: the ImageNet statistics are
    what the weights were trained with, and the statistics of a small CPU batch would undo them.
    The affine parameters still learn.
    """

    def __init__(self, name: str, weights: str | None):
        super().__init__()
        architecture = ARCHITECTURES[name]
        model = architecture.build()
        if weights is not None and weights != RANDOM_WEIGHTS:
            state = torch.load(weights, map_location="cpu")
            if isinstance(state, dict) and "state_dict" in state and isinstance(state["state_dict"], dict):
                state = state["state_dict"]
            if not isinstance(state, dict):
                raise BackboneError(f"{weights}: not a state dict")
            try:
                model.load_state_dict(state)  # strict: every weight of the architecture must be there
            except RuntimeError as e:
                raise BackboneError(f"{weights}: not a torchvision {name} state dict ({str(e).splitlines()[0]})") from e
        self.features = architecture.features(model)
        self.out_channels = architecture.channels

    def train(self, mode: bool = True) -> "PretrainedBackbone":
        super().train(mode)
        for module in self.modules():
            if isinstance(module, nn.BatchNorm2d):
                module.eval()
        return self

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.features(x)


def _conv_bn_relu(cin: int, cout: int, stride: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(cin, cout, 3, stride, 1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True))


class _Residual(nn.Module):
    def __init__(self, channels: int):
        super().__init__()
        self.conv = nn.Conv2d(channels, channels, 3, 1, 1, bias=False)
        self.bn = nn.BatchNorm2d(channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.relu(x + self.bn(self.conv(x)))


class ScratchBackbone(nn.Module):
    """Plain 3×3 conv-BN-ReLU stages, each halving the resolution (128 -> 4×4 after five). The demo model's."""

    def __init__(self, widths: list[int], depths: list[int]):
        super().__init__()
        if len(widths) != 5 or len(depths) != 5:
            raise ValueError("the scratch backbone needs five stage widths and depths (stride 32)")
        stages: list[nn.Module] = []
        cin = 3
        for width, depth in zip(widths, depths):
            stages.append(nn.Sequential(_conv_bn_relu(cin, width, 2), *[_Residual(width) for _ in range(depth)]))
            cin = width
        self.stages = nn.Sequential(*stages)
        self.out_channels = cin

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.stages(x)


def build_backbone(name: str, weights: str | None, widths: list[int], depths: list[int]) -> nn.Module:
    """The backbone `name`; `weights` is a file, RANDOM_WEIGHTS, or None (a checkpoint's weights follow)."""
    if name == SCRATCH:
        return ScratchBackbone(widths, depths)
    if name not in ARCHITECTURES:
        raise BackboneError(f"unknown backbone {name!r} (choose one of {', '.join(BACKBONE_NAMES)})")
    return PretrainedBackbone(name, weights)
