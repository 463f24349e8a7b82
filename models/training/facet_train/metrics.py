"""Evaluation figures: attribute accuracy and macro-F1, BLEU-4, ROUGE-L, and text/attribute consistency."""

from __future__ import annotations

import math
import re
from collections import Counter
from typing import Sequence

# The attributes whose stated value is read back from a description.
CONSISTENCY_ATTRIBUTES = ("category", "metal", "gemstone")
NO_GEMSTONE = "none"


def accuracy_and_macro_f1(truth: Sequence[str], predicted: Sequence[str]) -> dict:
    """Accuracy, and F1 averaged over the labels present in truth or prediction."""
    if len(truth) != len(predicted):
        raise ValueError("truth and predicted differ in length")
    if not truth:
        return {"accuracy": None, "macro_f1": None, "support": 0}
    correct = sum(t == p for t, p in zip(truth, predicted))
    f1s = []
    for label in sorted(set(truth) | set(predicted)):
        tp = sum(t == label and p == label for t, p in zip(truth, predicted))
        fp = sum(t != label and p == label for t, p in zip(truth, predicted))
        fn = sum(t == label and p != label for t, p in zip(truth, predicted))
        f1s.append(2 * tp / (2 * tp + fp + fn) if tp else 0.0)
    return {"accuracy": correct / len(truth), "macro_f1": sum(f1s) / len(f1s), "support": len(truth)}


def _ngrams(words: Sequence[str], n: int) -> Counter:
    return Counter(tuple(words[i : i + n]) for i in range(len(words) - n + 1))


def corpus_bleu(hypotheses: Sequence[Sequence[str]], references: Sequence[Sequence[str]], max_n: int = 4) -> float:
    """Corpus BLEU (Papineni et al. 2002), one reference per hypothesis: clipped n-gram
    precisions for n = 1..4 pooled over the corpus, geometric mean, brevity penalty."""
    matches = [0] * max_n
    totals = [0] * max_n
    hyp_len = ref_len = 0
    for hyp, ref in zip(hypotheses, references, strict=True):
        hyp_len += len(hyp)
        ref_len += len(ref)
        for n in range(1, max_n + 1):
            h, r = _ngrams(hyp, n), _ngrams(ref, n)
            matches[n - 1] += sum(min(c, r[g]) for g, c in h.items())
            totals[n - 1] += max(len(hyp) - n + 1, 0)
    if hyp_len == 0 or min(matches) == 0:
        return 0.0
    log_precision = sum(math.log(m / t) for m, t in zip(matches, totals)) / max_n
    brevity = 1.0 if hyp_len > ref_len else math.exp(1 - ref_len / hyp_len)
    return brevity * math.exp(log_precision)


def _lcs_length(a: Sequence[str], b: Sequence[str]) -> int:
    previous = [0] * (len(b) + 1)
    for x in a:
        current = [0]
        for j, y in enumerate(b):
            current.append(previous[j] + 1 if x == y else max(previous[j + 1], current[j]))
        previous = current
    return previous[-1]


def rouge_l(hypothesis: Sequence[str], reference: Sequence[str]) -> float:
    """ROUGE-L F1: longest common subsequence against both lengths."""
    lcs = _lcs_length(hypothesis, reference)
    if lcs == 0:
        return 0.0
    precision, recall = lcs / len(hypothesis), lcs / len(reference)
    return 2 * precision * recall / (precision + recall)


def classification_report(truth: Sequence[str], predicted: Sequence[str], labels: Sequence[str]) -> dict:
    """Per-class precision, recall, F1 and support, and the confusion matrix (rows: truth, columns: predicted), in `labels` order."""
    index = {label: i for i, label in enumerate(labels)}
    matrix = [[0] * len(labels) for _ in labels]
    for t, p in zip(truth, predicted):
        matrix[index[t]][index[p]] += 1
    classes = {}
    for i, label in enumerate(labels):
        tp = matrix[i][i]
        support = sum(matrix[i])
        predicted_count = sum(row[i] for row in matrix)
        precision = tp / predicted_count if predicted_count else None
        recall = tp / support if support else None
        f1 = 2 * tp / (support + predicted_count) if support + predicted_count else None
        classes[label] = {"precision": precision, "recall": recall, "f1": f1, "support": support, "predicted": predicted_count}
    return {"classes": classes, "confusion": {"labels": list(labels), "matrix": matrix}}


def stated_labels(text: str, labels: Sequence[str]) -> set[str]:
    """The labels a description names, as whole-word phrases of the lower-cased text ("none" never
    counts); a label found only inside a longer one that is also found ("gold" in "rose gold") does not count."""
    lowered = text.lower()
    found = {
        label
        for label in labels
        if label != NO_GEMSTONE and re.search(r"(?<![a-z0-9])" + re.escape(label.lower()) + r"(?![a-z0-9])", lowered)
    }
    return {label for label in found if not any(label != other and label.lower() in other.lower() for other in found)}


def is_consistent(text: str, predicted: dict[str, str], labels: dict[str, Sequence[str]]) -> bool:
    """Whether the description never contradicts the attribute heads: every category, metal and
    gemstone it names is the head's label. Leaving one out (below the review threshold) is no contradiction."""
    return all(stated_labels(text, labels[name]) <= {predicted[name]} for name in CONSISTENCY_ATTRIBUTES if name in labels)
