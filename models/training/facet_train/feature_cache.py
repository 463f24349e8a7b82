"""Backbone feature maps computed once, for the frozen-backbone warm-up.

While the backbone is frozen its output for a photo never changes, so the warm-up trains the
heads, the projection and the decoder on cached maps: on a CPU that makes warm-up epochs cost a
few seconds instead of minutes. Each training photo is cached as it is and mirrored (the one
augmentation that costs nothing to cache); maps are kept in float16.
"""

from __future__ import annotations

import sys
import time
from typing import Sequence

import numpy as np
import torch

from .model import FacetModel, normalise_images
from .progress import format_duration


class FeatureCache:
    def __init__(self, maps: torch.Tensor, rows: dict[int, int], views: int):
        self.maps = maps  # float16 [rows × views, C, g, g]
        self.rows = rows  # dataset photo index -> first row
        self.views = views

    def take(self, photos: Sequence[int], generator: torch.Generator | None = None) -> torch.Tensor:
        """float32 maps of `photos` (dataset photo indices); a random view each when a generator is given."""
        offsets = torch.randint(0, self.views, (len(photos),), generator=generator) if generator is not None else torch.zeros(len(photos), dtype=torch.int64)
        rows = torch.tensor([self.rows[p] for p in photos]) * self.views + offsets
        return self.maps[rows].float().contiguous(memory_format=torch.channels_last)

    @property
    def megabytes(self) -> float:
        return self.maps.numel() * 2 / 1e6


def estimate_megabytes(model: FacetModel, photos: int, views: int) -> float:
    config = model.config
    return photos * views * model.encoder.backbone.out_channels * config.grid * config.grid * 2 / 1e6


@torch.no_grad()
def build_cache(model: FacetModel, images: np.ndarray, photos: Sequence[int], mirrored: bool, batch_size: int = 8, label: str = "photos") -> FeatureCache:
    """Maps of `photos` (dataset photo indices) through the model's backbone in eval mode."""
    model.eval()
    views = 2 if mirrored else 1
    unique = sorted(set(photos))
    rows = {p: i for i, p in enumerate(unique)}
    chunks = []
    started = last = time.perf_counter()
    for start in range(0, len(unique), batch_size):
        chunk = unique[start : start + batch_size]
        pixels = torch.from_numpy(np.ascontiguousarray(images[chunk])).permute(0, 3, 1, 2)
        x = normalise_images(pixels)
        maps = model.encoder.backbone_map(x).half()
        if mirrored:
            flipped = model.encoder.backbone_map(x.flip(3)).half()
            maps = torch.stack([maps, flipped], dim=1).flatten(0, 1)  # photo-major: [orig, mirror, orig, mirror…]
        chunks.append(maps)
        now = time.perf_counter()
        done = start + len(chunk)
        if now - last >= 10 and done < len(unique):
            last = now
            rate = done / (now - started)
            print(f"  caching backbone maps of {label}: {done}/{len(unique)} · {rate:.1f} photos/s · ETA {format_duration((len(unique) - done) / rate)}", flush=True)
    cache = FeatureCache(torch.cat(chunks) if chunks else torch.zeros(0), rows, views)
    print(f"  cached {len(unique)} {label} × {views} view(s) in {time.perf_counter() - started:.0f} s ({cache.megabytes:.0f} MB)", file=sys.stdout, flush=True)
    return cache
