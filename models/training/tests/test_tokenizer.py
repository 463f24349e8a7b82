import sys
import tempfile
import unittest
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from facet_train.tokenizer import BOS_ID, EOS_ID, UNK_ID, TokenizerError, WordTokenizer, join_words, split_words  # noqa: E402

SENTENCES = [
    "Polished yellow gold ring set with a diamond in a halo setting, on a slim band.",
    "Hammered sterling silver earrings, in a hoop style.",
    "Brushed rose gold brooch (vintage): in a floral design!",
]


class TokenizerTest(unittest.TestCase):
    def test_split_lowercases_and_separates_punctuation(self):
        self.assertEqual(split_words("Rose gold, 18K (ring)."), ["rose", "gold", ",", "18k", "(", "ring", ")", "."])

    def test_round_trip(self):
        tokenizer = WordTokenizer.build(SENTENCES)
        for text in SENTENCES:
            self.assertEqual(tokenizer.decode(tokenizer.encode(text)), text)

    def test_join_fixes_spacing_and_capitalises(self):
        self.assertEqual(join_words(["a", "(", "b", ")", "c", ",", "d", ";", "e", ":", "f", "!", "g", "?", "."]), "A (b) c, d; e: f! g?.")

    def test_vocab_is_specials_then_sorted(self):
        tokenizer = WordTokenizer.build(["b a", None, "c a ."])
        self.assertEqual(tokenizer.vocab, ["<pad>", "<bos>", "<eos>", "<unk>", ".", "a", "b", "c"])

    def test_unknown_words_and_sequences(self):
        tokenizer = WordTokenizer.build(["a b"])
        self.assertEqual(tokenizer.encode("a zebra"), [tokenizer.vocab.index("a"), UNK_ID])
        self.assertEqual(tokenizer.encode_sequence("a b a b", max_length=3), [BOS_ID, 4, 5, EOS_ID])
        self.assertEqual(tokenizer.decode([4, 5, EOS_ID, 4]), "A b")

    def test_json_round_trip_and_validation(self):
        tokenizer = WordTokenizer.build(SENTENCES)
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "tokenizer.json"
            tokenizer.save(path)
            self.assertEqual(WordTokenizer.load(path).vocab, tokenizer.vocab)
        with self.assertRaisesRegex(TokenizerError, "format"):
            WordTokenizer.from_json({**tokenizer.to_json(), "format": "other/1"})
        with self.assertRaisesRegex(TokenizerError, "start with"):
            WordTokenizer(["a", "b"])


if __name__ == "__main__":
    unittest.main()
