"""Running a trained model over a dataset's products, the way the runtime does."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import torch

from .data import FacetDataset, batch_indices, make_batch
from .model import FacetModel, greedy_decode
from .tokenizer import WordTokenizer


@dataclass
class ProductPrediction:
    id: str
    probs: list[list[float]]  # per attribute: mean of the photos' probabilities
    labels: list[str]  # per attribute: argmax of `probs`
    tokens: list[int]  # greedy ids, no <bos>, up to and including <eos>
    text: str


@torch.no_grad()
def predict(model: FacetModel, tokenizer: WordTokenizer, dataset: FacetDataset, indices: Sequence[int], batch_size: int = 64) -> list[ProductPrediction]:
    """Attribute probabilities (mean over photos) and greedy text through the decoder's cache path."""
    model.eval()
    out: list[ProductPrediction] = []
    for chunk in batch_indices(indices, batch_size):
        batch = make_batch(dataset, chunk, None, model.config.max_length)
        encoded = model.encode_products(batch.images, batch.photo_mask)
        sequences = greedy_decode(model.decoder, encoded.memory, encoded.memory_mask)
        for b, pid in enumerate(batch.ids):
            probs = [p[b].tolist() for p in encoded.probs]
            labels = [a.labels[int(p[b].argmax())] for a, p in zip(dataset.attributes, encoded.probs)]
            out.append(ProductPrediction(pid, probs, labels, sequences[b], tokenizer.decode(sequences[b])))
    return out
