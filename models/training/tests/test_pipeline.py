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

TINY = ["--widths", "8,8,16,16,16", "--d-model", "32", "--heads", "2", "--threads", "1", "--batch-size", "8"]


def run_quietly(main, argv):
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = main(argv)
        except SystemExit as e:
            code = e.code
    return code, out.getvalue(), err.getvalue()


class PipelineTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory()
        root = Path(cls.tmp.name)
        cls.data = write_fake_dataset(root / "train", products=24, image_size=32, seed=1, null_share=0.1)
        cls.holdout = write_fake_dataset(root / "holdout", products=6, image_size=32, seed=2)
        cls.run_dir = root / "run"
        cls.bundle = root / "bundle"
        code, cls.train_log, err = run_quietly(train.main, ["--data", str(cls.data), "--out", str(cls.run_dir), "--max-steps", "3", "--val-fraction", "0.25", *TINY])
        assert code == 0, err

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()

    def test_train_writes_run(self):
        summary = json.loads((self.run_dir / "training.json").read_text())
        self.assertEqual(summary["steps"], 3)
        self.assertEqual(summary["stopped"], "max-steps")
        self.assertEqual(summary["dataset"]["splits"]["val"]["products"], 6)
        self.assertEqual(summary["dataset"]["source"]["seed"], 1)
        self.assertIn("category", summary["dataset"]["splits"]["train"]["labels"])
        self.assertTrue((self.run_dir / "model.pt").is_file())
        self.assertTrue((self.run_dir / "tokenizer.json").is_file())
        self.assertIn("epoch 1/30", self.train_log)

    def test_training_is_deterministic(self):
        with tempfile.TemporaryDirectory() as tmp:
            states = []
            for i in range(2):
                out = Path(tmp) / f"run{i}"
                code, _, err = run_quietly(train.main, ["--data", str(self.data), "--out", str(out), "--max-steps", "2", "--val-fraction", "0.25", *TINY])
                self.assertEqual(code, 0, err)
                states.append(torch.load(out / "model.pt")["state_dict"])
            for key in states[0]:
                self.assertTrue(torch.equal(states[0][key], states[1][key]), key)

    def test_bad_flags_exit_2_naming_the_flag(self):
        for argv, flag in (
            (["--epochs", "0"], "--epochs"),
            (["--val-fraction", "1.5"], "--val-fraction"),
            (["--d-model", "30", "--heads", "4"], "--d-model"),
            (["--backbone", "mobilenet_v2"], "--backbone-weights"),
            (["--widths", "1,2"], "--widths"),
        ):
            code, _, err = run_quietly(train.main, ["--data", str(self.data), "--out", str(Path(self.tmp.name) / "bad"), *argv])
            self.assertEqual(code, 2, argv)
            self.assertIn(flag, err)

    def test_export_evaluate_reference(self):
        # The real verifier runs the graphs in onnxruntime (TypeScript); here only its exit status matters.
        with mock.patch.dict(os.environ, {"FACET_VERIFY_CMD": f"{sys.executable} -c 'import sys; sys.exit(3)'"}):
            code, _, err = run_quietly(export.main, ["--run", str(self.run_dir), "--out", str(self.bundle)])
        self.assertEqual(code, 1)
        self.assertIn("verifier exited with 3", err)
        with mock.patch.dict(os.environ, {"FACET_VERIFY_CMD": f"{sys.executable} -c 'import sys; sys.exit(0)'"}):
            code, out, err = run_quietly(export.main, ["--run", str(self.run_dir), "--out", str(self.bundle), "--name", "facet-test", "--version", "0.0.1"])
        self.assertEqual(code, 0, err)

        manifest = json.loads((self.bundle / "manifest.json").read_text())
        self.assertEqual(manifest["format"], "facet-bundle/1")
        self.assertEqual(sorted(manifest["files"]), ["decoder.onnx", "encoder.onnx", "metrics.json", "pytorch_model.pt", "tokenizer.json"])
        for name, entry in manifest["files"].items():
            self.assertEqual(file_entry(self.bundle / name), entry, name)
        self.assertEqual(manifest["encoder"], {"file": "encoder.onnx", "feature_tokens": 2, "feature_dim": 32})
        self.assertEqual(manifest["decoder"]["head_dim"], 16)
        self.assertEqual(manifest["evaluation"], {})
        check = json.loads((self.run_dir / "export-check.json").read_text())
        self.assertEqual(check["decoder_full"]["inputs"]["past"]["shape"][3], 0)
        self.assertEqual(check["decoder_step"]["inputs"]["tokens"]["shape"], [2, 1])
        self.assertEqual(check["decoder_full"]["inputs"]["memory_mask"]["data"][-1], 0.0)

        code, out, err = run_quietly(evaluate.main, ["--bundle", str(self.bundle), "--data", str(self.holdout)])
        self.assertEqual(code, 0, err)
        self.assertIn("consistency", out)
        manifest = json.loads((self.bundle / "manifest.json").read_text())
        metrics = json.loads((self.bundle / "metrics.json").read_text())
        self.assertEqual(manifest["files"]["metrics.json"], file_entry(self.bundle / "metrics.json"))
        self.assertEqual(manifest["evaluation"]["dataset"]["source"]["seed"], 2)
        self.assertEqual(set(manifest["evaluation"]["attributes"]), {"category", "metal", "gemstone", "finish"})
        self.assertEqual(metrics["products"], 6)

        code, out, err = run_quietly(reference.main, ["--bundle", str(self.bundle), "--data", str(self.holdout), "--limit", "2"])
        self.assertEqual(code, 0, err)
        products = json.loads(out)
        self.assertEqual([p["id"] for p in products], ["p000000", "p000001"])
        for p in products:
            self.assertNotEqual(p["tokens"][0], 1)
            self.assertAlmostEqual(sum(p["probs"]["category"]), 1.0, places=5)


if __name__ == "__main__":
    unittest.main()
