import os
import sys
import tempfile
import unittest
from pathlib import Path
from unittest import mock

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from facet_train.model import FacetModel, ModelConfig, greedy_decode  # noqa: E402
from facet_train.tokenizer import BOS_ID  # noqa: E402


def small_model(seed: int = 0) -> FacetModel:
    torch.manual_seed(seed)
    config = ModelConfig(vocab_size=30, attributes=[("category", 3), ("metal", 4)], image_size=64, widths=[8, 8, 16, 16, 32], d_model=32, layers=2, heads=4, ffn=64, max_length=12)
    return FacetModel(config).eval()


class DecoderCacheTest(unittest.TestCase):
    def test_cache_matches_full_prefix(self):
        model = small_model()
        decoder = model.decoder
        memory = torch.randn(2, 10, 32)
        mask = torch.ones(2, 10)
        mask[1, 5:] = 0
        tokens = torch.tensor([[BOS_ID, 5, 9, 7, 11], [BOS_ID, 4, 4, 8, 20]])
        with torch.no_grad():
            full_logits, full_present = decoder(tokens, decoder.empty_past(2), memory, mask)
            past = decoder.empty_past(2)
            steps = []
            for t in range(tokens.shape[1]):
                logits, past = decoder(tokens[:, t : t + 1], past, memory, mask)
                steps.append(logits)
        self.assertEqual(tuple(full_present.shape), (2, 4, 4, 5, 8))
        torch.testing.assert_close(torch.cat(steps, dim=1), full_logits, atol=1e-5, rtol=0)
        torch.testing.assert_close(past, full_present, atol=1e-5, rtol=0)

    def test_prefix_then_step_matches(self):
        # The runtime may also start from a prefix and continue with the cache.
        model = small_model(1)
        decoder = model.decoder
        memory, mask = torch.randn(1, 6, 32), torch.ones(1, 6)
        tokens = torch.tensor([[BOS_ID, 5, 9, 7]])
        with torch.no_grad():
            full, _ = decoder(tokens, decoder.empty_past(1), memory, mask)
            _, present = decoder(tokens[:, :3], decoder.empty_past(1), memory, mask)
            step, _ = decoder(tokens[:, 3:], present, memory, mask)
        torch.testing.assert_close(step[:, 0], full[:, 3], atol=1e-5, rtol=0)


class PhotoPaddingTest(unittest.TestCase):
    def test_padding_photos_change_nothing(self):
        model = small_model(2)
        torch.manual_seed(3)
        photos = torch.randint(0, 256, (4, 3, 64, 64), dtype=torch.uint8)
        alone_images = photos[:1].unsqueeze(0)  # one product, one photo
        alone = model.encode_products(alone_images, torch.ones(1, 1))
        # The same product next to a three-photo product: padded to K = 3, and the padding filled with noise.
        images = torch.zeros(2, 3, 3, 64, 64, dtype=torch.uint8)
        images[0, 0] = photos[0]
        images[0, 1:] = 255
        images[1] = photos[1:]
        mask = torch.tensor([[1.0, 0, 0], [1, 1, 1]])
        batched = model.encode_products(images, mask)
        for a, b in zip(alone.probs, batched.probs):
            torch.testing.assert_close(b[:1], a, atol=1e-6, rtol=0)
        f = model.config.feature_tokens
        torch.testing.assert_close(batched.memory[0, :f], alone.memory[0], atol=1e-6, rtol=0)
        self.assertTrue(torch.all(batched.memory[0, f:] == 0))
        self.assertEqual(batched.memory_mask[0].tolist(), [1.0] * f + [0.0] * (2 * f))
        noisy = batched.memory.clone()
        noisy[0, f:] = torch.randn(2 * f, 32) * 100  # masked memory must be ignored whatever it holds
        with torch.no_grad():
            tokens = torch.tensor([[BOS_ID, 6, 7]])
            want, _ = model.decoder(tokens, model.decoder.empty_past(1), alone.memory, alone.memory_mask)
            got, _ = model.decoder(tokens.expand(2, 3), model.decoder.empty_past(2), noisy, batched.memory_mask)
        torch.testing.assert_close(got[:1], want, atol=1e-5, rtol=0)
        self.assertEqual(greedy_decode(model.decoder, noisy, batched.memory_mask)[0], greedy_decode(model.decoder, alone.memory, alone.memory_mask)[0])

    def test_product_probs_are_photo_means(self):
        model = small_model(4)
        images = torch.randint(0, 256, (1, 2, 3, 64, 64), dtype=torch.uint8)
        encoded = model.encode_products(images, torch.ones(1, 2))
        for photo, product in zip(encoded.photo_probs, encoded.probs):
            torch.testing.assert_close(product[0], photo.mean(dim=0))
            self.assertAlmostEqual(float(product.sum()), 1.0, places=5)


class GreedyTest(unittest.TestCase):
    def test_banned_ids_never_come_and_once_ids_come_at_most_once(self):
        model = small_model(5)
        memory, mask = torch.randn(3, 8, 32), torch.ones(3, 8)
        free = greedy_decode(model.decoder, memory, mask)
        common = max(set(free[0]), key=free[0].count)  # an id row 0 emits when free
        constrained = greedy_decode(model.decoder, memory, mask, banned=[{common}, set(), set()], once=frozenset(range(4, 30)))
        self.assertNotIn(common, constrained[0])
        for seq in constrained:
            words = [t for t in seq if t >= 4]
            self.assertEqual(len(words), len(set(words)))

    def test_no_sequence_repeats_its_previous_token(self):
        model = small_model(5)
        memory, mask = torch.randn(4, 8, 32), torch.ones(4, 8)
        for seq in greedy_decode(model.decoder, memory, mask):
            self.assertTrue(all(a != b for a, b in zip(seq, seq[1:])), seq)

    def test_sequences_stop_at_eos_or_max_length(self):
        model = small_model(5)
        memory, mask = torch.randn(3, 8, 32), torch.ones(3, 8)
        for seq in greedy_decode(model.decoder, memory, mask):
            self.assertLessEqual(len(seq), model.config.max_length)
            self.assertTrue(len(seq) == model.config.max_length or seq[-1] == 2)
            self.assertNotIn(2, seq[:-1])


PRETRAINED = Path(__file__).resolve().parents[4] / "shared/pretrained/mobilenet_v2-imagenet-dequantized.pth"


class BackboneTest(unittest.TestCase):
    def test_every_architecture_builds_with_random_weights(self):
        from facet_train.backbones import ARCHITECTURES, RANDOM_WEIGHTS, build_backbone

        for name, architecture in ARCHITECTURES.items():
            with self.subTest(name):
                backbone = build_backbone(name, RANDOM_WEIGHTS, [], []).eval()
                with torch.no_grad():
                    self.assertEqual(tuple(backbone(torch.zeros(1, 3, 64, 64)).shape), (1, architecture.channels, 2, 2))

    @unittest.skipUnless(PRETRAINED.is_file(), f"{PRETRAINED} is not here (../shared: real photos and pretrained weights)")
    def test_loads_torchvision_weights_and_keeps_their_statistics(self):
        from facet_train.backbones import build_backbone

        backbone = build_backbone("mobilenet_v2", str(PRETRAINED), [], []).train()
        self.assertTrue(backbone.training)
        self.assertFalse(backbone.features[0][1].training)  # batch norm stays in eval mode

    def test_rejects_other_state_dicts(self):
        from facet_train.backbones import BackboneError, build_backbone

        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "w.pt"
            torch.save({"features.0.0.weight": torch.zeros(1)}, path)
            with self.assertRaisesRegex(BackboneError, "not a torchvision mobilenet_v2 state dict"):
                build_backbone("mobilenet_v2", str(path), [], [])

    def test_weights_default_to_torchvisions_cache_and_say_where_they_looked(self):
        from facet_train.backbones import BackboneError, resolve_weights

        with tempfile.TemporaryDirectory() as tmp, mock.patch.dict(os.environ, {"TORCH_HOME": tmp}):
            with self.assertRaisesRegex(BackboneError, f"resnet50-0676ba61.pth in {tmp}/hub/checkpoints"):
                resolve_weights("resnet50", None)
            cached = Path(tmp) / "hub/checkpoints/resnet50-0676ba61.pth"
            cached.parent.mkdir(parents=True)
            cached.write_bytes(b"")
            self.assertEqual(resolve_weights("resnet50", None), str(cached))


class FamiliarityTest(unittest.TestCase):
    def test_distance_is_small_near_a_centre_and_large_far_away(self):
        from facet_train.model import Familiarity

        f = Familiarity(4, 2, 2)
        f.projection.copy_(torch.tensor([[1.0, 0, 0, 0], [0, 1.0, 0, 0]]))
        f.centres.copy_(torch.tensor([[0.0, 0.0], [10.0, 0.0]]))
        scores = f(torch.tensor([[0.0, 0, 5, 5], [10.0, 1, 0, 0], [5.0, 5, 0, 0]]))
        torch.testing.assert_close(scores, torch.tensor([0.0, 0.5, 25.0]))



if __name__ == "__main__":
    unittest.main()
