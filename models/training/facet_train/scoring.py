"""Scoring predictions against a dataset's truth (used by evaluation and by training's final check)."""

from __future__ import annotations

from typing import Sequence

from .data import IGNORE_LABEL, FacetDataset
from .inference import ProductPrediction
from .metrics import accuracy_and_macro_f1, corpus_bleu, is_consistent, rouge_l
from .tokenizer import split_words


def score(dataset: FacetDataset, indices: Sequence[int], predictions: Sequence[ProductPrediction], tokenizer) -> dict:
    """Per-attribute accuracy and macro-F1, BLEU-4 and ROUGE-L against `reference`, and consistency."""
    products = [dataset.products[i] for i in indices]
    if [p.id for p in products] != [p.id for p in predictions]:
        raise ValueError("predictions are not in the order of the products")
    attributes = {}
    for a, attribute in enumerate(dataset.attributes):
        pairs = [(attribute.labels[p.labels[a]], pred.labels[a]) for p, pred in zip(products, predictions) if p.labels[a] != IGNORE_LABEL]
        attributes[attribute.name] = accuracy_and_macro_f1([t for t, _ in pairs], [q for _, q in pairs])
    hyps, refs = [], []
    for p, pred in zip(products, predictions):
        if p.reference is not None:
            hyps.append(tokenizer.words(pred.tokens))
            refs.append(split_words(p.reference))
    label_sets = {a.name: a.labels for a in dataset.attributes}
    names = [a.name for a in dataset.attributes]
    consistent = [is_consistent(pred.text, dict(zip(names, pred.labels)), label_sets) for pred in predictions]
    return {
        "products": len(products),
        "attributes": attributes,
        "bleu4": corpus_bleu(hyps, refs) if hyps else None,
        "rouge_l": sum(rouge_l(h, r) for h, r in zip(hyps, refs)) / len(hyps) if hyps else None,
        "consistency": sum(consistent) / len(consistent) if consistent else None,
        "exact_match": sum(" ".join(h) == " ".join(r) for h, r in zip(hyps, refs)) / len(hyps) if hyps else None,
    }
