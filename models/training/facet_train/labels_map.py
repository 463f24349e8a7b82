"""Label mapping files (`facet-labels-map/1`, models/FORMAT.md), as evaluation reads them: which of a
dataset's labels is which of a bundle's.

    {"format": "facet-labels-map/1",
     "attributes": {"metal": {"map": {"gold": "yellow gold", "silver": "sterling silver"}},
                    "category": {"map": {"watch": "watch"}}}}

A label maps to one of the bundle's labels, to itself (kept as a label the bundle cannot predict:
every such product counts as wrong), or to null (the attribute is not scored for those products).
Dataset labels not in the map must be the bundle's own. The dataset export reads the same format
(models/dataset/labels-map.ts), where the map turns a source's words into the label set.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from pathlib import Path

from .data import IGNORE_LABEL, Attribute, DatasetError, FacetDataset

FORMAT = "facet-labels-map/1"


class LabelsMapError(ValueError):
    """A mapping file that can't be read, or labels that don't line up (the message names them)."""


def read_labels_map(path: Path) -> dict[str, dict[str, str | None]]:
    """attribute -> {dataset label -> bundle label or None}."""
    try:
        raw = json.loads(path.read_text())
    except FileNotFoundError:
        raise LabelsMapError(f"{path}: not found") from None
    except json.JSONDecodeError as e:
        raise LabelsMapError(f"{path}: not valid JSON ({e})") from e
    if not isinstance(raw, dict) or raw.get("format") != FORMAT:
        raise LabelsMapError(f"{path}: format must be {FORMAT!r}, got {raw.get('format') if isinstance(raw, dict) else raw!r}")
    attributes = raw.get("attributes")
    if not isinstance(attributes, dict):
        raise LabelsMapError(f"{path}: attributes must be an object")
    out: dict[str, dict[str, str | None]] = {}
    for name, spec in attributes.items():
        mapping = spec.get("map", {}) if isinstance(spec, dict) else None
        if not isinstance(mapping, dict) or not all(isinstance(k, str) and (v is None or isinstance(v, str)) for k, v in mapping.items()):
            raise LabelsMapError(f"{path}: attributes.{name}.map must map labels to labels or null")
        out[name] = {k.strip().lower(): v for k, v in mapping.items()}
    return out


@dataclass(frozen=True)
class Alignment:
    dataset: FacetDataset  # the bundle's attributes, in its order; labels: the bundle's, then truth-only ones
    unscored: list[str]  # bundle attributes the dataset has no labels for
    ignored: list[str]  # dataset attributes the bundle has no head for
    outside: dict[str, list[str]]  # per attribute: truth labels the bundle cannot predict


def align(dataset: FacetDataset, bundle_attributes: list[Attribute], labels_map: dict[str, dict[str, str | None]] | None) -> Alignment:
    """The dataset seen through the bundle's label sets; raises LabelsMapError naming labels that differ without a map."""
    by_name = {a.name: (i, a) for i, a in enumerate(dataset.attributes)}
    differing: list[str] = []
    columns: list[tuple[int | None, dict[int, int], Attribute]] = []
    outside: dict[str, list[str]] = {}
    for attribute in bundle_attributes:
        if attribute.name not in by_name:
            columns.append((None, {}, attribute))
            continue
        index, source = by_name[attribute.name]
        mapping = (labels_map or {}).get(attribute.name, {})
        labels = list(attribute.labels)
        remap: dict[int, int] = {}
        for j, label in enumerate(source.labels):
            key = label.strip().lower()
            if key in mapping:
                target = mapping[key]
                if target is None:
                    continue  # not scored
                if target not in attribute.labels and target != label:
                    raise LabelsMapError(f"{attribute.name}: the map sends {label!r} to {target!r}, which is not a bundle label {list(attribute.labels)}")
            elif label in attribute.labels:
                target = label
            else:
                differing.append(f"{attribute.name} {label!r}")
                continue
            if target not in labels:
                labels.append(target)
                outside.setdefault(attribute.name, []).append(target)
            remap[j] = labels.index(target)
        columns.append((index, remap, Attribute(attribute.name, tuple(labels))))
    if differing:
        raise LabelsMapError(
            f"the dataset's labels differ from the bundle's: {', '.join(differing)} are not bundle labels "
            "(give --labels-map FILE saying which bundle label each is, itself to keep it as one the bundle cannot predict, or null)"
        )
    products = []
    for p in dataset.products:
        labels = tuple(
            IGNORE_LABEL if index is None or p.labels[index] == IGNORE_LABEL else remap.get(p.labels[index], IGNORE_LABEL)
            for index, remap, _ in columns
        )
        products.append(replace(p, labels=labels))
    view = replace(dataset, attributes=[a for _, _, a in columns], products=products)
    return Alignment(
        view,
        [a.name for index, _, a in columns if index is None],
        [a.name for a in dataset.attributes if a.name not in {b.name for b in bundle_attributes}],
        outside,
    )


def check_image_size(manifest: dict, dataset: FacetDataset) -> None:
    size = manifest["preprocessing"]["image_size"]
    if dataset.image_size != size:
        raise DatasetError(f"{dataset.root / 'dataset.json'}: image_size {dataset.image_size} differs from the bundle's {size} (export the dataset with --image-size {size})")
