import sys
import unittest
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from facet_train.calibration import MIN_SUPPORT, apply_temperature, expected_calibration_error, fit_calibration, fit_temperature  # noqa: E402
from facet_train.guard import LossGuard, TrainingGuardError, check_collapse  # noqa: E402
from facet_train.progress import Progress, format_duration  # noqa: E402


def sample(n: int, temperature: float, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """Probabilities over-confident by `temperature`: labels drawn from softmax(logits), reported as softmax(logits × T)."""
    g = torch.Generator().manual_seed(seed)
    logits = torch.randn(n, 4, generator=g) * 2
    labels = torch.multinomial(torch.softmax(logits, dim=1), 1, generator=g).squeeze(1)
    return torch.softmax(logits * temperature, dim=1), labels


class TemperatureTest(unittest.TestCase):
    def test_recovers_the_temperature_that_made_probabilities_over_confident(self):
        probs, labels = sample(4000, 2.5)
        self.assertAlmostEqual(fit_temperature(probs, labels), 2.5, delta=0.25)

    def test_scaling_lowers_the_calibration_error(self):
        probs, labels = sample(4000, 3.0)
        def ece(p):
            c, k = p.max(dim=1)
            return expected_calibration_error(c.tolist(), (k == labels).tolist())
        self.assertLess(ece(apply_temperature(probs, fit_temperature(probs, labels))), 0.03)
        self.assertGreater(ece(probs), 0.1)

    def test_heads_with_too_few_labels_are_not_calibrated(self):
        probs, labels = sample(MIN_SUPPORT + 5, 1.0)
        both = torch.stack([labels, torch.where(torch.arange(len(labels)) < MIN_SUPPORT - 1, labels, torch.full_like(labels, -100))], dim=1)
        out = fit_calibration(["category", "gemstone"], [probs, probs], both)
        self.assertEqual(out["attributes"]["category"]["status"], "calibrated")
        self.assertEqual(out["attributes"]["gemstone"], {"temperature": None, "support": MIN_SUPPORT - 1, "status": "insufficient_data"})


class GuardTest(unittest.TestCase):
    def test_a_running_away_loss_stops_training(self):
        guard = LossGuard("try a lower learning rate", patience=5)
        for _ in range(20):
            guard.step(1.0)
        with self.assertRaisesRegex(TrainingGuardError, "diverging; try a lower learning rate"):
            for _ in range(200):
                guard.step(5.0)
        with self.assertRaisesRegex(TrainingGuardError, "is nan"):
            LossGuard("hint").step(float("nan"))

    def test_a_head_collapsed_onto_one_class_stops_training(self):
        truth = ["ring"] * 26 + ["earrings"] * 40 + ["bracelet"] * 34
        with self.assertRaisesRegex(TrainingGuardError, "predicts 'ring' for 100% of validation products \\(their true share: 26%\\)"):
            check_collapse("category", truth, ["ring"] * 100, "hint")
        check_collapse("category", truth, truth, "hint")  # fine
        check_collapse("category", ["ring"] * 100, ["ring"] * 100, "hint")  # one true class: nothing to collapse


class ProgressTest(unittest.TestCase):
    def test_prints_rate_and_time_left(self):
        import io

        now = [0.0]
        out = io.StringIO()
        progress = Progress("epoch 1", photos=100, later_photos=200, every=10, out=out, clock=lambda: now[0])
        now[0] = 11.0
        progress.step(20, 0.5)
        self.assertIn("20/100 photos · 1.8 photos/s · loss 0.5000 · epoch ETA 44 s · run ETA 2 min 34 s", out.getvalue())
        self.assertEqual(format_duration(3725), "1 h 02 min")


if __name__ == "__main__":
    unittest.main()
