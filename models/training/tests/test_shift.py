"""The run-level shift rules (shift.py), with the same figures as models/runtime/run-shift.test.ts."""

import unittest

from facet_train.inference import ProductPrediction, apply_run_shift
from facet_train.policy import Policy
from facet_train.shift import MIN_PRODUCTS, Z, bound, fit_shift, signal, verdict, wilson_lower


def prediction(pid: str, unusual: bool) -> ProductPrediction:
    return ProductPrediction(pid, [[0.95, 0.05]], ["ring"], [2], "Ring.", {"category": "ring"}, 0.5, [], unusual)


class ShiftTest(unittest.TestCase):
    def test_wilson_lower_bound(self):
        for k, n in ((25, 100), (74, 298), (1, 1000), (40, 40)):
            share, lower = k / n, wilson_lower(k, n)
            self.assertLess(lower, share)
            self.assertAlmostEqual((share - lower) ** 2, Z**2 * lower * (1 - lower) / n, places=9)
        self.assertAlmostEqual(wilson_lower(74, 298), 0.1628, places=3)
        self.assertEqual(wilson_lower(3, 0), 0.0)

    def test_verdicts_match_the_runtime(self):
        self.assertAlmostEqual(bound(0.01), 0.06)
        self.assertEqual(verdict(298, 74, 0.031), "shifted")
        self.assertEqual(verdict(298, 23, 0.077), "familiar")
        self.assertEqual(verdict(MIN_PRODUCTS - 1, 2, 0.03), "gathering")
        self.assertEqual(verdict(40, 20, 0.03), "shifted")

    def test_fit_smooths_the_validation_share(self):
        block = fit_shift([False] * 98, signal(["category", "metal"]))
        self.assertEqual(block["attribute"], "category")
        self.assertAlmostEqual(block["validation_share"], 1 / 100)
        self.assertEqual(signal(["metal"])["attribute"], "metal")

    def test_a_shifted_run_sends_every_product_to_review(self):
        policy = Policy(temperatures={"category": 1.0}, shift={"attribute": "category", "confidence_below": 0.9, "validation_share": 0.02})
        shifted = [prediction(str(i), i % 3 == 0) for i in range(150)]
        figures = apply_run_shift(shifted, policy)
        self.assertEqual(figures["verdict"], "shifted")
        self.assertTrue(all(p.review == ["unfamiliar_photo"] for p in shifted))
        familiar = [prediction(str(i), i % 50 == 0) for i in range(250)]
        self.assertEqual(apply_run_shift(familiar, policy)["verdict"], "familiar")
        self.assertTrue(all(p.review == [] for p in familiar))
        self.assertIsNone(apply_run_shift(familiar, Policy()))

    def test_the_signal_is_low_confidence_or_unfamiliar(self):
        policy = Policy(temperatures={"category": 1.0}, familiarity_threshold=2.0, shift={"attribute": "category", "confidence_below": 0.9, "validation_share": 0.02})
        self.assertFalse(policy.unusual({"category": 0.95}, 1.0))
        self.assertTrue(policy.unusual({"category": 0.85}, 1.0))
        self.assertTrue(policy.unusual({"category": 0.99}, 2.5))
        self.assertIsNone(Policy().unusual({"category": 0.5}, 9.0))


if __name__ == "__main__":
    unittest.main()
