import json
import sys
import tempfile
import unittest
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from fake_dataset import write_fake_dataset  # noqa: E402
from facet_train.data import IGNORE_LABEL, Augmenter, DatasetError, load_dataset, make_batch, split_products  # noqa: E402
from facet_train.tokenizer import EOS_ID, PAD_ID, WordTokenizer  # noqa: E402


class DatasetTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.root = write_fake_dataset(Path(self.tmp.name) / "data", products=12, image_size=32, seed=4, null_share=0.3)

    def tearDown(self):
        self.tmp.cleanup()

    def _edit_meta(self, **changes):
        path = self.root / "dataset.json"
        meta = json.loads(path.read_text())
        meta.update(changes)
        path.write_text(json.dumps(meta))

    def _edit_item(self, line: int, edit):
        path = self.root / "items.jsonl"
        lines = path.read_text().splitlines()
        item = json.loads(lines[line])
        edit(item)
        lines[line] = json.dumps(item)
        path.write_text("\n".join(lines) + "\n")

    def test_loads(self):
        ds = load_dataset(self.root)
        self.assertEqual(len(ds.products), 12)
        self.assertEqual(ds.images.shape[1:], (32, 32, 3))
        self.assertTrue(any(p.reference is None for p in ds.products))
        self.assertTrue(any(IGNORE_LABEL in p.labels for p in ds.products))

    def test_rejects_format(self):
        self._edit_meta(format="facet-dataset/2")
        with self.assertRaisesRegex(DatasetError, r"dataset.json: format: must be 'facet-dataset/1'"):
            load_dataset(self.root)

    def test_rejects_images_size(self):
        self._edit_meta(images=json.loads((self.root / "dataset.json").read_text())["images"] + 1)
        with self.assertRaisesRegex(DatasetError, r"images.u8: size"):
            load_dataset(self.root)

    def test_rejects_unknown_label(self):
        self._edit_item(2, lambda item: item["attributes"].update(metal="brass"))
        with self.assertRaisesRegex(DatasetError, r"items.jsonl: line 3 \(p000002\): field 'attributes.metal': label 'brass'"):
            load_dataset(self.root)

    def test_rejects_missing_attribute_and_bad_image(self):
        self._edit_item(0, lambda item: item["attributes"].pop("gemstone"))
        with self.assertRaisesRegex(DatasetError, r"attributes.gemstone'.*missing"):
            load_dataset(self.root)

    def test_rejects_image_index(self):
        self._edit_item(1, lambda item: item.update(images=[10_000]))
        with self.assertRaisesRegex(DatasetError, r"line 2 .*field 'images'.*10000"):
            load_dataset(self.root)

    def test_split_is_deterministic_and_disjoint(self):
        ds = load_dataset(self.root)
        train, val = split_products(ds, 0.25, seed=7)
        self.assertEqual((train, val), split_products(ds, 0.25, seed=7))
        self.assertEqual(len(val), 3)
        self.assertEqual(sorted(train + val), list(range(12)))

    def test_batch(self):
        ds = load_dataset(self.root)
        tokenizer = WordTokenizer.build(p.reference for p in ds.products)
        batch = make_batch(ds, list(range(6)), tokenizer, max_length=40)
        k = max(len(ds.products[i].images) for i in range(6))
        self.assertEqual(tuple(batch.images.shape), (6, k, 3, 32, 32))
        self.assertEqual(batch.photo_mask.sum(dim=1).tolist(), [float(len(ds.products[i].images)) for i in range(6)])
        for b in range(6):
            n = len(ds.products[b].images)
            self.assertTrue(torch.all(batch.images[b, n:] == 0))
            self.assertTrue(torch.equal(batch.images[b, 0].permute(1, 2, 0), torch.from_numpy(ds.images[ds.products[b].images[0]].copy())))
            targets = [t for t in batch.targets[b].tolist() if t != PAD_ID]
            if ds.products[b].reference is None:
                self.assertEqual(targets, [])
            else:
                self.assertEqual(targets[-1], EOS_ID)
                self.assertEqual(tokenizer.decode(targets), ds.products[b].reference)

    def test_augmenter_is_seeded_and_bounded(self):
        images = torch.rand(4, 3, 32, 32)
        a, b = Augmenter(3)(images), Augmenter(3)(images)
        self.assertTrue(torch.equal(a, b))
        self.assertGreaterEqual(float(a.min()), 0.0)
        self.assertLessEqual(float(a.max()), 1.0)


if __name__ == "__main__":
    unittest.main()
