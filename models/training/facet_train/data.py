"""Reading, validating, splitting and batching a `facet-dataset/1` folder (see models/FORMAT.md)."""

from __future__ import annotations

import json
import math
import random
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, Sequence

import numpy as np
import torch

from .references import Segment, SegmentError, delexicalise, parse_segments
from .tokenizer import PAD_ID, WordTokenizer, split_words

FORMAT = "facet-dataset/1"
MAX_PHOTOS = 3
IGNORE_LABEL = -100  # a null attribute: the head's loss skips the product
SPLITS = ("train", "val", "test")


class DatasetError(ValueError):
    """A dataset that does not follow facet-dataset/1; the message names the file and field."""


@dataclass(frozen=True)
class Attribute:
    name: str
    labels: tuple[str, ...]

    def to_json(self) -> dict:
        return {"name": self.name, "labels": list(self.labels)}


@dataclass(frozen=True)
class Product:
    id: str
    images: tuple[int, ...]
    labels: tuple[int, ...]  # one label index per attribute, IGNORE_LABEL where null
    reference: str | None
    segments: tuple[Segment, ...] | None = None  # the reference as house-style segments (references.py)
    split: str | None = None  # train, val or test, as the export assigned it


@dataclass
class FacetDataset:
    root: Path
    meta: dict  # dataset.json as read
    image_size: int
    background: tuple[int, int, int]
    attributes: list[Attribute]
    products: list[Product]
    images: np.ndarray  # memory-mapped uint8 [M, S, S, 3]

    @property
    def source(self) -> dict:
        return self.meta.get("source") or {}

    def photo_count(self, indices: Sequence[int]) -> int:
        return sum(len(self.products[i].images) for i in indices)

    def label_counts(self, indices: Sequence[int]) -> dict[str, dict[str, int]]:
        """Products per label, per attribute (null attributes counted under "null")."""
        out: dict[str, dict[str, int]] = {}
        for a, attribute in enumerate(self.attributes):
            counts = Counter(self.products[i].labels[a] for i in indices)
            named = {label: counts.get(j, 0) for j, label in enumerate(attribute.labels)}
            if counts.get(IGNORE_LABEL):
                named["null"] = counts[IGNORE_LABEL]
            out[attribute.name] = named
        return out


def _fail(file: str, where: str, message: str) -> DatasetError:
    return DatasetError(f"{file}: {where}: {message}")


def _read_meta(root: Path) -> dict:
    path = root / "dataset.json"
    if not path.is_file():
        raise DatasetError(f"{path}: not found (is {root} a facet-dataset/1 folder?)")
    try:
        meta = json.loads(path.read_text())
    except json.JSONDecodeError as e:
        raise DatasetError(f"{path}: not valid JSON ({e})") from e
    if not isinstance(meta, dict):
        raise _fail("dataset.json", "top level", "must be an object")
    if meta.get("format") != FORMAT:
        raise _fail("dataset.json", "format", f"must be {FORMAT!r}, got {meta.get('format')!r}")
    for key in ("image_size", "products", "images"):
        value = meta.get(key)
        if not isinstance(value, int) or isinstance(value, bool) or value < (1 if key == "image_size" else 0):
            raise _fail("dataset.json", key, f"must be a {'positive' if key == 'image_size' else 'non-negative'} integer, got {value!r}")
    background = meta.get("background")
    if not (isinstance(background, list) and len(background) == 3
            and all(isinstance(c, int) and 0 <= c <= 255 for c in background)):
        raise _fail("dataset.json", "background", f"must be [r, g, b] with integers 0..255, got {background!r}")
    attributes = meta.get("attributes")
    if not isinstance(attributes, list) or not attributes:
        raise _fail("dataset.json", "attributes", "must be a non-empty list")
    names: set[str] = set()
    for i, attribute in enumerate(attributes):
        where = f"attributes[{i}]"
        if not isinstance(attribute, dict) or not isinstance(attribute.get("name"), str) or not attribute["name"]:
            raise _fail("dataset.json", f"{where}.name", "must be a non-empty string")
        if attribute["name"] in names:
            raise _fail("dataset.json", f"{where}.name", f"duplicate attribute {attribute['name']!r}")
        names.add(attribute["name"])
        labels = attribute.get("labels")
        if not (isinstance(labels, list) and labels and all(isinstance(l, str) and l for l in labels)):
            raise _fail("dataset.json", f"{where}.labels", "must be a non-empty list of non-empty strings")
        if len(set(labels)) != len(labels):
            raise _fail("dataset.json", f"{where}.labels", f"duplicate labels in {labels}")
    return meta


def _read_items(root: Path, attributes: list[Attribute], image_count: int, product_count: int) -> list[Product]:
    path = root / "items.jsonl"
    if not path.is_file():
        raise DatasetError(f"{path}: not found")
    label_index = [{label: j for j, label in enumerate(a.labels)} for a in attributes]
    names = {a.name for a in attributes}
    products: list[Product] = []
    seen: set[str] = set()
    with path.open() as f:
        for line_no, line in enumerate(f, start=1):
            if not line.strip():
                continue
            where = f"line {line_no}"
            try:
                item = json.loads(line)
            except json.JSONDecodeError as e:
                raise _fail("items.jsonl", where, f"not valid JSON ({e})") from e
            if not isinstance(item, dict):
                raise _fail("items.jsonl", where, "must be an object")
            pid = item.get("id")
            if not isinstance(pid, str) or not pid:
                raise _fail("items.jsonl", f"{where}: field 'id'", f"must be a non-empty string, got {pid!r}")
            if pid in seen:
                raise _fail("items.jsonl", f"{where}: field 'id'", f"duplicate product id {pid!r}")
            seen.add(pid)
            images = item.get("images")
            if not (isinstance(images, list) and 1 <= len(images) <= MAX_PHOTOS):
                raise _fail("items.jsonl", f"{where} ({pid}): field 'images'", f"must list 1 to {MAX_PHOTOS} image indices, got {images!r}")
            for image in images:
                if not isinstance(image, int) or isinstance(image, bool) or not 0 <= image < image_count:
                    raise _fail("items.jsonl", f"{where} ({pid}): field 'images'", f"index {image!r} is outside 0..{image_count - 1} (dataset.json images = {image_count})")
            attrs = item.get("attributes")
            if not isinstance(attrs, dict):
                raise _fail("items.jsonl", f"{where} ({pid}): field 'attributes'", "must be an object")
            unknown = sorted(set(attrs) - names)
            if unknown:
                raise _fail("items.jsonl", f"{where} ({pid}): field 'attributes'", f"unknown attributes {unknown}; dataset.json has {sorted(names)}")
            labels: list[int] = []
            for a, attribute in enumerate(attributes):
                if attribute.name not in attrs:
                    raise _fail("items.jsonl", f"{where} ({pid}): field 'attributes.{attribute.name}'", "missing (write null when the source does not say)")
                label = attrs[attribute.name]
                if label is None:
                    labels.append(IGNORE_LABEL)
                elif label in label_index[a]:
                    labels.append(label_index[a][label])
                else:
                    raise _fail("items.jsonl", f"{where} ({pid}): field 'attributes.{attribute.name}'", f"label {label!r} is not one of {list(attribute.labels)}")
            reference = item.get("reference")
            if reference is not None and not isinstance(reference, str):
                raise _fail("items.jsonl", f"{where} ({pid}): field 'reference'", f"must be a string or null, got {type(reference).__name__}")
            split = item.get("split")
            if split is not None and split not in SPLITS:
                raise _fail("items.jsonl", f"{where} ({pid}): field 'split'", f"must be one of {list(SPLITS)} or absent, got {split!r}")
            segments = None
            if item.get("reference_segments") is not None:
                if reference is None:
                    raise _fail("items.jsonl", f"{where} ({pid}): field 'reference_segments'", "given without a reference")
                try:
                    segments = parse_segments(item["reference_segments"], [a.name for a in attributes])
                    known = {a.name: a.labels[j] for a, j in zip(attributes, labels) if j != IGNORE_LABEL}
                    delexicalise(segments, known)
                except SegmentError as e:
                    raise _fail("items.jsonl", f"{where} ({pid}): field 'reference_segments'", str(e)) from e
                if split_words("".join(s.text + " " for s in segments)) != split_words(reference):
                    raise _fail("items.jsonl", f"{where} ({pid}): field 'reference_segments'", "do not join up to the reference text")
            products.append(Product(pid, tuple(images), tuple(labels), reference, segments, split))
    if len(products) != product_count:
        raise _fail("items.jsonl", "line count", f"has {len(products)} products, dataset.json says products = {product_count}")
    return products


def load_dataset(root: str | Path) -> FacetDataset:
    """Reads and validates a dataset folder; images stay memory-mapped."""
    root = Path(root)
    meta = _read_meta(root)
    size = meta["image_size"]
    attributes = [Attribute(a["name"], tuple(a["labels"])) for a in meta["attributes"]]
    images_path = root / "images.u8"
    if not images_path.is_file():
        raise DatasetError(f"{images_path}: not found")
    expected = meta["images"] * size * size * 3
    actual = images_path.stat().st_size
    if actual != expected:
        raise _fail("images.u8", "size", f"is {actual} bytes, expected images × S × S × 3 = {meta['images']} × {size} × {size} × 3 = {expected} (dataset.json)")
    if meta["images"]:
        images = np.memmap(images_path, dtype=np.uint8, mode="r", shape=(meta["images"], size, size, 3))
    else:
        images = np.zeros((0, size, size, 3), dtype=np.uint8)
    products = _read_items(root, attributes, meta["images"], meta["products"])
    with_split = sum(p.split is not None for p in products)
    if 0 < with_split < len(products):
        raise _fail("items.jsonl", "field 'split'", f"{with_split} of {len(products)} products have a split: give every product one, or none")
    return FacetDataset(root, meta, size, tuple(meta["background"]), attributes, products, images)


def dataset_splits(dataset: FacetDataset, val_fraction: float, seed: int) -> tuple[list[int], list[int], list[int]]:
    """Train, validation and test product indices.

    The export's splits when the dataset has them (by a hash of each duplicate group: models/FORMAT.md);
    otherwise a seeded validation share and no test split (a separate hold-out dataset is the test).
    """
    if dataset.products and dataset.products[0].split is not None:
        by_split: dict[str, list[int]] = {s: [] for s in SPLITS}
        for i, p in enumerate(dataset.products):
            by_split[p.split].append(i)  # type: ignore[index]
        return by_split["train"], by_split["val"], by_split["test"]
    train, val = split_products(dataset, val_fraction, seed)
    return train, val, []


def split_products(dataset: FacetDataset, val_fraction: float, seed: int) -> tuple[list[int], list[int]]:
    """Train/val product indices: a seeded shuffle of the sorted product ids, the first share to val.

    Splitting by product (not photo) keeps a product's photos on one side.
    """
    if not 0 <= val_fraction < 1:
        raise ValueError(f"val_fraction must be in [0, 1), got {val_fraction}")
    ids = sorted(range(len(dataset.products)), key=lambda i: dataset.products[i].id)
    random.Random(seed).shuffle(ids)
    n_val = math.ceil(len(ids) * val_fraction) if val_fraction > 0 else 0
    if n_val >= len(ids) and len(ids) > 0:
        n_val = len(ids) - 1
    return sorted(ids[n_val:]), sorted(ids[:n_val])


@dataclass
class Batch:
    ids: list[str]
    images: torch.Tensor  # uint8 [B, K, 3, S, S], zero where padded
    photo_mask: torch.Tensor  # float32 [B, K], 1 = real photo
    labels: torch.Tensor  # int64 [B, attributes], IGNORE_LABEL where null
    tokens: torch.Tensor  # int64 [B, T]: <bos> words…, padded (teacher-forcing input)
    targets: torch.Tensor  # int64 [B, T]: words… <eos>, PAD_ID where padded or no reference
    photos: np.ndarray  # int64 [N]: the real photos' indices in the dataset, product by product


def known_labels(dataset: FacetDataset, product: Product) -> dict[str, str]:
    """The product's labels by attribute name, unknown ones left out."""
    return {a.name: a.labels[j] for a, j in zip(dataset.attributes, product.labels) if j != IGNORE_LABEL}


def slot_attributes_of(dataset: FacetDataset) -> list[str]:
    """Attributes the references state through slots (in dataset order); empty when the references
    are plain text. Raises DatasetError when some products with a reference have segments and some don't."""
    with_reference = [p for p in dataset.products if p.reference is not None]
    segmented = [p for p in with_reference if p.segments is not None]
    if not segmented:
        return []
    if len(segmented) != len(with_reference):
        raise DatasetError(
            f"{dataset.root / 'items.jsonl'}: {len(segmented)} of {len(with_reference)} products with a reference have "
            "reference_segments: give them to every product with a reference, or to none"
        )
    used = {s.slot for p in segmented for s in p.segments or () if s.slot is not None}
    return [a.name for a in dataset.attributes if a.name in used]


def target_words(dataset: FacetDataset, product: Product, omitted: frozenset[str] = frozenset()) -> list[str] | None:
    """The words the decoder learns for `product` (slots in place of labels when it has segments), or None without a reference."""
    if product.reference is None:
        return None
    if product.segments is None:
        return split_words(product.reference)
    return delexicalise(product.segments, known_labels(dataset, product), omitted)


class Omission:
    """Leaves stated attributes out of training targets, each with probability `share` (seeded), as
    decoding leaves out an attribute below the review threshold: the decoder learns the sentence
    without it, instead of meeting that path for the first time when it serves."""

    def __init__(self, seed: int, share: float):
        self.random = random.Random(seed)
        self.share = share

    def __call__(self, product: Product) -> frozenset[str]:
        slots = {s.slot for s in product.segments or () if s.slot is not None}
        return frozenset(a for a in sorted(slots) if self.random.random() < self.share)


def make_batch(
    dataset: FacetDataset,
    indices: Sequence[int],
    tokenizer: WordTokenizer | None,
    max_length: int,
    omission: Omission | None = None,
) -> Batch:
    products = [dataset.products[i] for i in indices]
    size = dataset.image_size
    k = max(len(p.images) for p in products)
    flat = np.fromiter((im for p in products for im in p.images), dtype=np.int64)
    pixels = torch.from_numpy(np.ascontiguousarray(dataset.images[flat]))  # [N, S, S, 3]
    images = torch.zeros((len(products), k, size, size, 3), dtype=torch.uint8)
    photo_mask = torch.zeros((len(products), k), dtype=torch.float32)
    n = 0
    for b, p in enumerate(products):
        images[b, : len(p.images)] = pixels[n : n + len(p.images)]
        photo_mask[b, : len(p.images)] = 1
        n += len(p.images)
    labels = torch.tensor([p.labels for p in products], dtype=torch.int64)
    sequences = []
    for p in products:
        words = target_words(dataset, p, omission(p) if omission is not None else frozenset()) if tokenizer is not None else None
        sequences.append(tokenizer.words_sequence(words, max_length) if tokenizer is not None and words is not None else None)
    length = max([len(s) - 1 for s in sequences if s is not None], default=1)
    tokens = torch.full((len(products), length), PAD_ID, dtype=torch.int64)
    targets = torch.full((len(products), length), PAD_ID, dtype=torch.int64)
    for b, s in enumerate(sequences):
        if s is not None:
            tokens[b, : len(s) - 1] = torch.tensor(s[:-1])
            targets[b, : len(s) - 1] = torch.tensor(s[1:])
    # [B, K, S, S, 3] -> [B, K, 3, S, S]; the strides stay channels-last, which the convolutions prefer.
    return Batch([p.id for p in products], images.permute(0, 1, 4, 2, 3), photo_mask, labels, tokens, targets, flat)


def class_weights(dataset: FacetDataset, indices: Sequence[int], cap: float = 10.0) -> list[torch.Tensor]:
    """Per attribute, a loss weight per label: inverse frequency in `indices`, scaled to a mean of 1
    over the labels present and capped at `cap`, so a rare class counts as much as a common one
    (within the cap) and a head cannot win by always saying the majority label."""
    out = []
    for a, attribute in enumerate(dataset.attributes):
        counts = torch.zeros(len(attribute.labels))
        for i in indices:
            j = dataset.products[i].labels[a]
            if j != IGNORE_LABEL:
                counts[j] += 1
        present = counts > 0
        weights = torch.zeros_like(counts)
        if present.any():
            weights[present] = 1.0 / counts[present]
            weights[present] /= weights[present].mean()
        out.append(weights.clamp(max=cap))
    return out


def batch_indices(indices: Sequence[int], batch_size: int, shuffle_seed: int | None = None) -> Iterator[list[int]]:
    """Consecutive batches of `indices`, shuffled by `shuffle_seed` when given."""
    order = list(indices)
    if shuffle_seed is not None:
        random.Random(shuffle_seed).shuffle(order)
    for start in range(0, len(order), batch_size):
        yield order[start : start + batch_size]


class Augmenter:
    """Seeded jitter for training photos (float RGB in [0, 1]) suited to product photos.

    A crop of 70–100 % of the area at a random offset, mirror flips, a tilt of up to ±15°, and
    brightness/contrast of ±15 %. Whatever the crop or tilt uncovers is filled white, the
    background preprocessing pads with. No hue or saturation change: the metal's and gemstone's
    colours are labels.
    """

    def __init__(self, seed: int, scale: tuple[float, float] = (0.7, 1.0), degrees: float = 15.0, brightness: float = 0.15, contrast: float = 0.15):
        self.generator = torch.Generator().manual_seed(seed)
        self.scale = scale
        self.degrees = degrees
        self.brightness = brightness
        self.contrast = contrast

    def _uniform(self, n: int, low: float, high: float) -> torch.Tensor:
        return low + (high - low) * torch.rand(n, generator=self.generator)

    def __call__(self, images: torch.Tensor) -> torch.Tensor:
        n = images.shape[0]
        side = self._uniform(n, *self.scale).sqrt()  # crop side as a share of the image side
        flip = torch.where(torch.rand(n, generator=self.generator) < 0.5, -1.0, 1.0)
        angle = self._uniform(n, -self.degrees, self.degrees) * (math.pi / 180)
        cos, sin = torch.cos(angle) * side, torch.sin(angle) * side
        theta = torch.zeros(n, 2, 3)
        theta[:, 0, 0] = cos * flip
        theta[:, 0, 1] = -sin
        theta[:, 1, 0] = sin * flip
        theta[:, 1, 1] = cos
        theta[:, 0, 2] = (1 - side) * self._uniform(n, -1, 1)
        theta[:, 1, 2] = (1 - side) * self._uniform(n, -1, 1)
        grid = torch.nn.functional.affine_grid(theta, list(images.shape), align_corners=False)
        # Sampled as (image - 1) with zero padding, so what falls outside the photo comes out white.
        out = torch.nn.functional.grid_sample(images - 1, grid, mode="bilinear", padding_mode="zeros", align_corners=False) + 1
        contrast = self._uniform(n, 1 - self.contrast, 1 + self.contrast).view(n, 1, 1, 1)
        brightness = self._uniform(n, 1 - self.brightness, 1 + self.brightness).view(n, 1, 1, 1)
        mean = out.mean(dim=(1, 2, 3), keepdim=True)
        out = ((out - mean) * contrast + mean) * brightness
        return out.clamp(0, 1).contiguous(memory_format=torch.channels_last)
