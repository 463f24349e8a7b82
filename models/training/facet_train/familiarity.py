"""Fitting the encoder's familiarity output: how unlike the training photos a photo is.

A model is confidently wrong on photos unlike anything it trained on (the synthetic demo bundle
says "earrings 100%" for a real bracelet), so confidence alone can't gate publishing. The
familiarity of a photo is its distance to the training photos in the backbone's pooled features:
class-conditional Mahalanobis with a shared within-class covariance (Lee et al., 2018), in the top
principal components. Its threshold is a high percentile of the validation products' scores;
above it a product goes to review as `unfamiliar_photo` (models/runtime/review-policy.ts).
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
import torch

from .data import IGNORE_LABEL, FacetDataset
from .model import FacetModel, Familiarity, normalise_images

COMPONENTS = 64  # principal components kept (at most the feature width, and the training photos - 1)
PERCENTILE = 99.0  # of validation products' scores: about 1 % of familiar products is sent to review
SHRINK = 0.05  # ridge on the within-class covariance, as a share of its mean variance


@torch.no_grad()
def pooled_features(model: FacetModel, dataset: FacetDataset, indices: Sequence[int], batch_size: int = 32) -> tuple[torch.Tensor, torch.Tensor, list[int]]:
    """Pooled backbone features of every photo of `indices` [N, 2C], each photo's first-attribute
    label [N] (IGNORE_LABEL when unknown), and each photo's product position in `indices`."""
    model.eval()
    photos = [(position, image, dataset.products[i].labels[0]) for position, i in enumerate(indices) for image in dataset.products[i].images]
    features = []
    for start in range(0, len(photos), batch_size):
        chunk = photos[start : start + batch_size]
        pixels = torch.from_numpy(np.ascontiguousarray(dataset.images[[image for _, image, _ in chunk]])).permute(0, 3, 1, 2)
        features.append(model.encoder.pool(model.encoder.backbone_map(normalise_images(pixels))))
    return torch.cat(features), torch.tensor([label for _, _, label in photos]), [position for position, _, _ in photos]


def fit_familiarity(model: FacetModel, dataset: FacetDataset, train_idx: Sequence[int], val_idx: Sequence[int]) -> dict:
    """Fits the encoder's Familiarity on the training photos, sets its threshold from the validation
    products, and returns the manifest's `familiarity` block. The model's config and encoder change in place."""
    features, labels, positions = pooled_features(model, dataset, train_idx)
    x = features.double()
    n, width = x.shape
    k = max(1, min(COMPONENTS, width, n - 1))
    classes = len(dataset.attributes[0].labels)
    mean = x.mean(dim=0)
    centred = x - mean
    # The top principal components by randomised SVD (Halko et al.): a full eigendecomposition of the
    # 2560×2560 covariance took 20 s on the reference LAPACK; this takes well under one. Seeded by the
    # run's seed through torch's generator, so a run is still reproducible.
    _, _, components = torch.pca_lowrank(centred, q=k, center=False, niter=6)  # [2C, k]
    z = centred @ components  # [n, k]
    known = labels != IGNORE_LABEL
    centres = torch.full((classes, k), 1e4, dtype=torch.float64)  # a class with no training photo never is the nearest
    residual = z.clone()
    if known.any():
        for c in range(classes):
            members = known & (labels == c)
            if members.any():
                centres[c] = z[members].mean(dim=0)
                residual[members] = z[members] - centres[c]
        residual[~known] = z[~known] - z[known].mean(dim=0)
    else:
        centres[0] = z.mean(dim=0)
        residual = z - centres[0]
    within = residual.t() @ residual / max(1, n - 1)
    within += SHRINK * within.diagonal().mean() * torch.eye(k, dtype=torch.float64)
    whiten = torch.linalg.inv(torch.linalg.cholesky(within))  # W with W Σ Wᵀ = I
    projection = whiten @ components.t()  # [k, 2C]: x -> whitened components (centring folded into the centres)
    centres_out = centres @ whiten.t() + (projection @ mean)

    model.config.familiarity_components = k
    model.config.familiarity_classes = classes
    familiarity = Familiarity(width, k, classes)
    familiarity.projection.copy_(projection.float())
    familiarity.centres.copy_(centres_out.float())
    model.encoder.familiarity = familiarity

    train_scores = _product_means(familiarity(features), positions, len(train_idx))
    val_scores = product_scores(model, dataset, val_idx) if val_idx else train_scores
    threshold = float(np.percentile(val_scores, PERCENTILE))
    return {
        "output": "familiarity",
        "statistic": "squared Mahalanobis distance of the pooled backbone features to the nearest training class centre, "
        f"in the top {k} principal components, divided by {k}; a product's is the mean of its photos'",
        "components": k,
        "threshold": round(threshold, 4),
        "percentile": PERCENTILE,
        "fitted_on": "val" if val_idx else "train",
        "median": {"train": round(float(np.median(train_scores)), 4), "val": round(float(np.median(val_scores)), 4)},
    }


@torch.no_grad()
def product_scores(model: FacetModel, dataset: FacetDataset, indices: Sequence[int]) -> np.ndarray:
    """Each product's familiarity score (mean over its photos), through the fitted encoder."""
    if model.encoder.familiarity is None:
        raise ValueError("the encoder's familiarity is not fitted")
    x, _, positions = pooled_features(model, dataset, indices)
    return _product_means(model.encoder.familiarity(x), positions, len(indices))


def _product_means(photo_scores: torch.Tensor, positions: Sequence[int], products: int) -> np.ndarray:
    sums = np.zeros(products)
    counts = np.zeros(products)
    for position, score in zip(positions, photo_scores.double().tolist()):
        sums[position] += score
        counts[position] += 1
    return sums / np.maximum(counts, 1)
