"""A tiny generated facet-dataset/1 for tests: coloured shapes whose shape, colour,
dot and stripes encode the labels, with a house-style-like reference sentence.

    /usr/bin/python3 models/training/tests/fake_dataset.py OUT_DIR [--products 200] [--image-size 64] [--seed 0]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

ATTRIBUTES = {
    "category": ["ring", "earrings", "necklace"],
    "metal": ["yellow gold", "white gold", "rose gold"],
    "gemstone": ["none", "ruby", "sapphire"],
    "finish": ["polished", "brushed"],
}
METAL_RGB = {"yellow gold": (230, 180, 40), "white gold": (150, 150, 160), "rose gold": (215, 130, 110)}
GEM_RGB = {"ruby": (200, 20, 40), "sapphire": (30, 40, 200)}


def segments(labels: dict[str, str | None]) -> list[dict]:
    """The house-style-like sentence as segments (models/FORMAT.md); unknown labels left out."""
    out: list[dict] = []
    if labels.get("finish"):
        out.append({"text": labels["finish"].capitalize(), "slot": "finish"})
    out.append({"text": labels["metal"], "slot": "metal"})
    out.append({"text": labels["category"], "slot": "category", "fallback": "piece"})
    if labels["gemstone"] != "none":
        out.append({"text": f"set with a {labels['gemstone']}", "slot": "gemstone"})
    out.append({"text": ", on a slim band."})
    return out


def reference(labels: dict[str, str | None]) -> str:
    return " ".join(s["text"] for s in segments(labels)).replace(" ,", ",")


def draw(labels: dict[str, str], size: int, rng: np.random.Generator) -> np.ndarray:
    image = np.full((size, size, 3), 255, dtype=np.uint8)
    yy, xx = np.mgrid[0:size, 0:size]
    cy, cx = size / 2 + rng.uniform(-size / 10, size / 10, 2)
    r = size * rng.uniform(0.25, 0.35)
    if labels["category"] == "ring":
        shape = (np.hypot(yy - cy, xx - cx) < r) & (np.hypot(yy - cy, xx - cx) > r * 0.6)
    elif labels["category"] == "earrings":
        shape = (np.abs(yy - cy) < r) & (np.abs(xx - cx) < r * 0.5)
    else:
        shape = np.abs(yy - cy) + np.abs(xx - cx) < r
    if labels["finish"] == "brushed":
        shape &= (yy // 2) % 2 == 0
    image[shape] = METAL_RGB[labels["metal"]]
    if labels["gemstone"] != "none":
        image[np.hypot(yy - cy, xx - cx + r * 0.8) < size / 12] = GEM_RGB[labels["gemstone"]]
    return image


def write_fake_dataset(
    out: Path, products: int = 40, image_size: int = 64, seed: int = 0, null_share: float = 0.0, with_segments: bool = False, splits: bool = False
) -> Path:
    """Writes the dataset to `out` (created) and returns it. `null_share` of the products
    lose their finish label and their reference, as a real catalogue might. `with_segments`
    adds reference_segments; `splits` gives each product a train/val/test split (60/20/20 by index)."""
    rng = np.random.default_rng(seed)
    out.mkdir(parents=True, exist_ok=True)
    images: list[np.ndarray] = []
    items = []
    for p in range(products):
        labels = {name: str(rng.choice(values)) for name, values in ATTRIBUTES.items()}
        indices = []
        for _ in range(int(rng.integers(1, 4))):
            indices.append(len(images))
            images.append(draw(labels, image_size, rng))
        item = {"id": f"p{p:06d}", "images": indices, "attributes": dict(labels), "reference": reference(labels), "artisan": "handmade"}
        if rng.random() < null_share:
            item["attributes"]["finish"] = None
            item["reference"] = None
        if with_segments and item["reference"] is not None:
            item["reference_segments"] = segments(item["attributes"])
        if splits:
            item["split"] = ("train", "train", "train", "val", "test")[p % 5]
        items.append(item)
    np.stack(images).tofile(out / "images.u8")
    with (out / "items.jsonl").open("w") as f:
        for item in items:
            f.write(json.dumps(item) + "\n")
    meta = {
        "format": "facet-dataset/1",
        "image_size": image_size,
        "background": [255, 255, 255],
        "attributes": [{"name": n, "labels": v} for n, v in ATTRIBUTES.items()],
        "source": {"generator": "tests/fake_dataset.py", "seed": seed, "products": products},
        "products": products,
        "images": len(images),
    }
    (out / "dataset.json").write_text(json.dumps(meta, indent=2) + "\n")
    return out


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("out", type=Path)
    parser.add_argument("--products", type=int, default=200)
    parser.add_argument("--image-size", type=int, default=64)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--null-share", type=float, default=0.0)
    args = parser.parse_args()
    write_fake_dataset(args.out, args.products, args.image_size, args.seed, args.null_share)
    print(args.out)
