"""Scoring predictions against a dataset's truth: the evaluation report (used by evaluation and by
training's final check on the validation split)."""

from __future__ import annotations

from collections import Counter
from typing import Sequence

from .calibration import expected_calibration_error, reliability
from .data import IGNORE_LABEL, FacetDataset
from .inference import ProductPrediction
from .metrics import accuracy_and_macro_f1, classification_report, corpus_bleu, is_consistent, rouge_l
from .policy import Policy
from .tokenizer import split_words


def score(dataset: FacetDataset, indices: Sequence[int], predictions: Sequence[ProductPrediction], policy: Policy | None = None) -> dict:
    """Per attribute: accuracy, macro-F1, per-class precision/recall, the confusion matrix and the
    calibration error; the review policy's share sent to a person and the accuracy of the rest; text
    figures (BLEU-4 and ROUGE-L against the references, consistency with the heads, non-empty share)."""
    policy = policy or Policy()
    products = [dataset.products[i] for i in indices]
    if [p.id for p in products] != [p.id for p in predictions]:
        raise ValueError("predictions are not in the order of the products")
    applied = [not pred.review for pred in predictions]
    attributes = {}
    for a, attribute in enumerate(dataset.attributes):
        rows = [(attribute.labels[p.labels[a]], pred.labels[a], max(pred.probs[a]), ok) for p, pred, ok in zip(products, predictions, applied) if p.labels[a] != IGNORE_LABEL]
        stated = [attribute.labels[p.labels[a]] == pred.stated[attribute.name] for p, pred in zip(products, predictions) if p.labels[a] != IGNORE_LABEL and attribute.name in pred.stated]
        truth, guess = [t for t, *_ in rows], [q for _, q, *_ in rows]
        correct = [t == q for t, q in zip(truth, guess)]
        confidences = [c for *_, c, _ in rows]
        kept = [k for k, (*_, ok) in zip(correct, rows) if ok]
        attributes[attribute.name] = {
            **accuracy_and_macro_f1(truth, guess),
            **classification_report(truth, guess, attribute.labels),
            "calibrated": policy.trusted(attribute.name),
            "ece": expected_calibration_error(confidences, correct),
            "reliability": reliability(confidences, correct),
            "applied": {"products": len(kept), "accuracy": sum(kept) / len(kept) if kept else None},
            # Of the labelled products whose text states this attribute: how often the stated label is right.
            "stated": {"products": len(stated), "accuracy": sum(stated) / len(stated) if stated else None},
        }
    reasons = Counter(r for pred in predictions for r in pred.review)
    hyps, refs = [], []
    for p, pred in zip(products, predictions):
        if p.reference is not None:
            hyps.append(split_words(pred.text))
            refs.append(split_words(p.reference))
    label_sets = {a.name: a.labels for a in dataset.attributes}
    names = [a.name for a in dataset.attributes]
    consistent = [is_consistent(pred.text, dict(zip(names, pred.labels)), label_sets) for pred in predictions]
    return {
        "products": len(products),
        "attributes": attributes,
        "review": {
            "threshold": policy.review_threshold,
            "attributes": [n for n in policy.review_attributes if n in names and policy.trusted(n)],
            "familiarity_threshold": policy.familiarity_threshold,
            "sent": sum(not ok for ok in applied),
            "share": sum(not ok for ok in applied) / len(applied) if applied else None,
            "reasons": dict(sorted(reasons.items())),
            "applied": sum(applied),
        },
        "bleu4": corpus_bleu(hyps, refs) if hyps else None,
        "rouge_l": sum(rouge_l(h, r) for h, r in zip(hyps, refs)) / len(hyps) if hyps else None,
        "consistency": sum(consistent) / len(consistent) if consistent else None,
        "exact_match": sum(" ".join(h) == " ".join(r) for h, r in zip(hyps, refs)) / len(hyps) if hyps else None,
        "non_empty": sum(bool(pred.text.strip()) for pred in predictions) / len(predictions) if predictions else None,
    }
