"""Train a few steps on a tiny generated dataset, export, evaluate and print references."""

import contextlib
import io
import json
import os
import sys
import tempfile
import unittest
from pathlib import Path
from unittest import mock

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from fake_dataset import write_fake_dataset  # noqa: E402
from facet_train import evaluate, export, reference, train  # noqa: E402
from facet_train.bundle import file_entry  # noqa: E402

TINY = ["--backbone", "scratch", "--widths", "8,8,16,16,16", "--d-model", "32", "--heads", "2", "--threads", "1", "--batch-size", "8", "--progress-seconds", "0"]


def run_quietly(main, argv):
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = main(argv)
        except SystemExit as e:
            code = e.code
    return code, out.getvalue(), err.getvalue()


def bundle_files(bundle: Path) -> dict:
    return {p.name: file_entry(p) for p in sorted(bundle.iterdir())}


class PipelineTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory()
        root = Path(cls.tmp.name)
        cls.data = write_fake_dataset(root / "train", products=40, image_size=32, seed=1, null_share=0.1, with_segments=True, splits=True)
        cls.holdout = write_fake_dataset(root / "holdout", products=6, image_size=32, seed=2, with_segments=True)
        cls.run_dir = root / "run"
        cls.bundle = root / "bundle"
        code, cls.train_log, err = run_quietly(train.main, ["--data", str(cls.data), "--out", str(cls.run_dir), "--max-steps", "3", *TINY])
        assert code == 0, err
        with mock.patch.dict(os.environ, {"FACET_VERIFY_CMD": f"{sys.executable} -c 'import sys; sys.exit(0)'"}):
            code, _, err = run_quietly(export.main, ["--run", str(cls.run_dir), "--out", str(cls.bundle), "--name", "facet-test", "--version", "0.0.1"])
        assert code == 0, err

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()

    def test_train_writes_run_and_never_reads_the_test_split(self):
        summary = json.loads((self.run_dir / "training.json").read_text())
        self.assertEqual(summary["steps"], 3)
        self.assertEqual(summary["stopped"], "max-steps")
        self.assertEqual(summary["dataset"]["splits"]["train"]["products"], 24)
        self.assertEqual(summary["dataset"]["splits"]["val"]["products"], 8)
        self.assertEqual(summary["dataset"]["test_products"], 8)
        self.assertEqual(summary["dataset"]["source"]["seed"], 1)
        self.assertIn("category", summary["dataset"]["splits"]["train"]["labels"])
        self.assertEqual(summary["slots"], ["category", "metal", "gemstone", "finish"])
        self.assertTrue((self.run_dir / "model.pt").is_file())
        tokenizer = json.loads((self.run_dir / "tokenizer.json").read_text())
        self.assertEqual(tokenizer["format"], "facet-word-tokenizer/2")
        self.assertNotIn("sapphire", tokenizer["vocab"])  # labels are slots, never words
        self.assertIn("piece", tokenizer["vocab"])  # the category's fallback
        self.assertIn("epoch 1 train", self.train_log)
        self.assertIn("photos/s", self.train_log)

    def test_calibration_and_familiarity_are_fitted_and_exported(self):
        manifest = json.loads((self.bundle / "manifest.json").read_text())
        self.assertEqual(manifest["calibration"]["fitted_on"], "val")
        # 8 validation products: too few to fit a temperature on.
        self.assertEqual(manifest["calibration"]["attributes"]["category"]["status"], "insufficient_data")
        self.assertGreater(manifest["familiarity"]["threshold"], 0)
        self.assertEqual(manifest["encoder"]["familiarity"], "familiarity")
        check = json.loads((self.run_dir / "export-check.json").read_text())
        self.assertEqual(check["encoder"]["outputs"]["familiarity"]["shape"], [2])

    def test_training_is_deterministic(self):
        with tempfile.TemporaryDirectory() as tmp:
            states = []
            for i in range(2):
                out = Path(tmp) / f"run{i}"
                code, _, err = run_quietly(train.main, ["--data", str(self.data), "--out", str(out), "--max-steps", "2", *TINY])
                self.assertEqual(code, 0, err)
                states.append(torch.load(out / "model.pt")["state_dict"])
            for key in states[0]:
                self.assertTrue(torch.equal(states[0][key], states[1][key]), key)

    def test_bad_flags_exit_2_naming_the_flag(self):
        for argv, flag in (
            (["--epochs", "0", "--backbone", "scratch"], "nothing to train"),
            (["--val-fraction", "1.5", "--backbone", "scratch"], "--val-fraction"),
            (["--d-model", "30", "--heads", "4", "--backbone", "scratch"], "--d-model"),
            (["--backbone", "resnet50", "--backbone-weights", "/nonexistent.pth"], "--backbone-weights: /nonexistent.pth is not a file"),
            (["--backbone", "scratch", "--warmup-epochs", "2"], "--warmup-epochs"),
            (["--widths", "1,2", "--backbone", "scratch"], "--widths"),
        ):
            code, _, err = run_quietly(train.main, ["--data", str(self.data), "--out", str(Path(self.tmp.name) / "bad"), *argv])
            self.assertEqual(code, 2, argv)
            self.assertIn(flag, err)

    def test_export_fails_when_the_verifier_does(self):
        with mock.patch.dict(os.environ, {"FACET_VERIFY_CMD": f"{sys.executable} -c 'import sys; sys.exit(3)'"}):
            code, _, err = run_quietly(export.main, ["--run", str(self.run_dir), "--out", str(Path(self.tmp.name) / "other-bundle")])
        self.assertEqual(code, 1)
        self.assertIn("verifier exited with 3", err)

    def test_export_writes_a_bundle_with_true_hashes(self):
        manifest = json.loads((self.bundle / "manifest.json").read_text())
        self.assertEqual(manifest["format"], "facet-bundle/1")
        self.assertEqual(sorted(manifest["files"]), ["decoder.onnx", "encoder.onnx", "pytorch_model.pt", "tokenizer.json"])
        for name, entry in manifest["files"].items():
            self.assertEqual(file_entry(self.bundle / name), entry, name)
        self.assertEqual(manifest["encoder"]["feature_tokens"], 2)
        self.assertEqual(manifest["decoder"]["head_dim"], 16)
        check = json.loads((self.run_dir / "export-check.json").read_text())
        self.assertEqual(check["decoder_full"]["inputs"]["past"]["shape"][3], 0)
        self.assertEqual(check["decoder_step"]["inputs"]["tokens"]["shape"], [2, 1])
        self.assertEqual(check["decoder_full"]["inputs"]["memory_mask"]["data"][-1], 0.0)

    def test_evaluate_reports_without_touching_the_bundle(self):
        before = bundle_files(self.bundle)
        report_path = Path(self.tmp.name) / "report.json"
        code, out, err = run_quietly(evaluate.main, ["--bundle", str(self.bundle), "--data", str(self.holdout), "--out", str(report_path)])
        self.assertEqual(code, 0, err)
        self.assertEqual(bundle_files(self.bundle), before)
        self.assertIn("consistency", out)
        self.assertIn("category: per class", out)
        report = json.loads(report_path.read_text())
        self.assertEqual(report["split"], "all")  # the hold-out has no splits
        self.assertEqual(report["products"], 6)
        category = report["metrics"]["attributes"]["category"]
        self.assertEqual(category["confusion"]["labels"], ["ring", "earrings", "necklace"])
        self.assertEqual(sum(map(sum, category["confusion"]["matrix"])), 6)
        self.assertIn("precision", category["classes"]["ring"])
        self.assertEqual(report["metrics"]["consistency"], 1.0)
        self.assertIn("share", report["metrics"]["review"])
        code, out, _ = run_quietly(evaluate.main, ["--bundle", str(self.bundle), "--data", str(self.data), "--out", str(report_path), "--json"])
        self.assertEqual(code, 0)
        self.assertEqual(json.loads(out)["split"], "test")
        self.assertEqual(json.loads(out)["products"], 8)

    def test_evaluate_refuses_other_labels_without_a_map(self):
        other = write_fake_dataset(Path(self.tmp.name) / "relabelled", products=4, image_size=32, seed=3)
        items = [json.loads(line) for line in (other / "items.jsonl").read_text().splitlines()]
        meta = json.loads((other / "dataset.json").read_text())
        meta["attributes"][0]["labels"] = ["anillo", "earrings", "necklace"]
        for item in items:
            if item["attributes"]["category"] == "ring":
                item["attributes"]["category"] = "anillo"
        (other / "dataset.json").write_text(json.dumps(meta))
        (other / "items.jsonl").write_text("".join(json.dumps(i) + "\n" for i in items))
        out = str(Path(self.tmp.name) / "r.json")
        code, _, err = run_quietly(evaluate.main, ["--bundle", str(self.bundle), "--data", str(other), "--out", out])
        self.assertEqual(code, 2)
        self.assertIn("category 'anillo' are not bundle labels", err)
        labels_map = Path(self.tmp.name) / "map.json"
        labels_map.write_text(json.dumps({"format": "facet-labels-map/1", "attributes": {"category": {"map": {"anillo": "ring"}}}}))
        code, _, err = run_quietly(evaluate.main, ["--bundle", str(self.bundle), "--data", str(other), "--labels-map", str(labels_map), "--out", out])
        self.assertEqual(code, 0, err)

    def test_reference_prints_what_the_runtime_must_reproduce(self):
        code, out, err = run_quietly(reference.main, ["--bundle", str(self.bundle), "--data", str(self.holdout), "--limit", "2"])
        self.assertEqual(code, 0, err)
        products = json.loads(out)
        self.assertEqual([p["id"] for p in products], ["p000000", "p000001"])
        for p in products:
            self.assertNotEqual(p["tokens"][0], 1)
            self.assertAlmostEqual(sum(p["probs"]["category"]), 1.0, places=5)
            self.assertIsInstance(p["familiarity"], float)
            self.assertIsInstance(p["review"], list)


if __name__ == "__main__":
    unittest.main()
