import math
import sys
import unittest
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from facet_train.metrics import accuracy_and_macro_f1, classification_report, corpus_bleu, is_consistent, rouge_l, stated_labels  # noqa: E402

LABELS = {
    "category": ["ring", "earrings", "necklace", "bracelet", "pendant", "brooch"],
    "metal": ["yellow gold", "white gold", "rose gold", "sterling silver", "copper"],
    "gemstone": ["none", "diamond", "ruby", "sapphire", "emerald", "amethyst", "pearl"],
}


class BleuTest(unittest.TestCase):
    def test_identical_is_one(self):
        self.assertAlmostEqual(corpus_bleu([["a", "b", "c", "d"]], [["a", "b", "c", "d"]]), 1.0)

    def test_known_precisions(self):
        # p1..p4 = 5/6, 4/5, 3/4, 2/3; same length, so no brevity penalty.
        self.assertAlmostEqual(corpus_bleu([list("abcdef")], [list("abcdeg")]), (1 / 3) ** 0.25)

    def test_brevity_penalty(self):
        self.assertAlmostEqual(corpus_bleu([list("abcd")], [list("abcdef")]), math.exp(1 - 6 / 4))

    def test_clipping_and_zero(self):
        self.assertAlmostEqual(corpus_bleu([["the"] * 4], [["the", "cat", "the"]], max_n=1), 0.5)
        self.assertEqual(corpus_bleu([["x", "y"]], [["a", "b"]]), 0.0)

    def test_corpus_pools_counts(self):
        # Pooled: p1 = 9/10, p2 = 7/8, p3 = 5/6, p4 = 3/4; lengths 10 vs 10.
        hyps = [list("abcde"), list("abcdx")]
        refs = [list("abcde"), list("abcde")]
        self.assertAlmostEqual(corpus_bleu(hyps, refs), (9 / 10 * 7 / 8 * 5 / 6 * 3 / 4) ** 0.25)


class RougeTest(unittest.TestCase):
    def test_lcs_f1(self):
        self.assertAlmostEqual(rouge_l(list("abcd"), list("aced")), 0.75)
        self.assertAlmostEqual(rouge_l(list("ab"), list("abcd")), 2 / 3)
        self.assertEqual(rouge_l(list("xy"), list("ab")), 0.0)


class AttributeMetricsTest(unittest.TestCase):
    def test_accuracy_and_macro_f1(self):
        m = accuracy_and_macro_f1(["a", "a", "b"], ["a", "b", "b"])
        self.assertAlmostEqual(m["accuracy"], 2 / 3)
        self.assertAlmostEqual(m["macro_f1"], 2 / 3)

    def test_labels_only_predicted_count(self):
        m = accuracy_and_macro_f1(["a", "a"], ["a", "c"])
        self.assertAlmostEqual(m["macro_f1"], (2 / 3 + 0) / 2)


class ClassificationReportTest(unittest.TestCase):
    def test_per_class_figures_and_confusion(self):
        r = classification_report(["a", "a", "b", "c"], ["a", "b", "b", "b"], ["a", "b", "c"])
        self.assertEqual(r["confusion"], {"labels": ["a", "b", "c"], "matrix": [[1, 1, 0], [0, 1, 0], [0, 1, 0]]})
        self.assertEqual(r["classes"]["a"], {"precision": 1.0, "recall": 0.5, "f1": 2 / 3, "support": 2, "predicted": 1})
        self.assertAlmostEqual(r["classes"]["b"]["precision"], 1 / 3)
        self.assertEqual(r["classes"]["c"]["precision"], None)  # never predicted
        self.assertEqual(r["classes"]["c"]["recall"], 0.0)


class ConsistencyTest(unittest.TestCase):
    def test_reads_house_style(self):
        text = "Polished yellow gold ring set with a diamond in a halo setting, on a slim band."
        self.assertEqual(stated_labels(text, LABELS["metal"]), {"yellow gold"})
        self.assertEqual(stated_labels(text, LABELS["gemstone"]), {"diamond"})
        self.assertEqual(stated_labels("Brushed white gold earrings, in a stud style.", LABELS["gemstone"]), set())

    def test_a_label_inside_a_longer_one_does_not_count(self):
        self.assertEqual(stated_labels("a yellow gold ring", ["gold", "yellow gold"]), {"yellow gold"})
        self.assertEqual(stated_labels("a ruby and a jade", ["ruby", "jade"]), {"ruby", "jade"})
        self.assertEqual(stated_labels("a brass ring", ["copper"]), set())

    def test_is_consistent(self):
        text = "Hammered copper bracelet set with a pearl, on a cable chain."
        self.assertTrue(is_consistent(text, {"category": "bracelet", "metal": "copper", "gemstone": "pearl"}, LABELS))
        self.assertFalse(is_consistent(text, {"category": "bracelet", "metal": "copper", "gemstone": "none"}, LABELS))
        self.assertFalse(is_consistent("Polished earrings.", {"category": "ring", "metal": "copper", "gemstone": "none"}, LABELS))
        # Leaving an attribute out (below the review threshold) is no contradiction.
        self.assertTrue(is_consistent("Polished ring.", {"category": "ring", "metal": "copper", "gemstone": "ruby"}, LABELS))
        self.assertFalse(is_consistent("A ring with a ruby and a pearl.", {"category": "ring", "metal": "copper", "gemstone": "ruby"}, LABELS))


if __name__ == "__main__":
    unittest.main()
