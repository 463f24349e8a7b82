import sys
import unittest
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from facet_train.references import SegmentError, delexicalise, parse_segments  # noqa: E402
from facet_train.tokenizer import BOS_ID, EOS_ID, WordTokenizer  # noqa: E402

ATTRIBUTES = ["category", "metal", "gemstone", "setting"]
RAW = [
    {"text": "Sterling silver", "slot": "metal"},
    {"text": "ring", "slot": "category", "fallback": "piece"},
    {"text": "set with an emerald", "slot": "gemstone"},
    {"text": "in a halo setting", "slot": "setting", "requires": ["gemstone"]},
    {"text": "."},
]
LABELS = {"category": "ring", "metal": "sterling silver", "gemstone": "emerald", "setting": "halo"}


class DelexicaliseTest(unittest.TestCase):
    def setUp(self):
        self.segments = parse_segments(RAW, ATTRIBUTES)

    def test_labels_become_slots_and_an_becomes_a(self):
        words = delexicalise(self.segments, LABELS)
        self.assertEqual(words, ["<metal>", "<category>", "set", "with", "a", "<gemstone>", "in", "a", "<setting>", "setting", "."])

    def test_left_out_attributes_drop_their_segments_and_what_requires_them(self):
        self.assertEqual(delexicalise(self.segments, LABELS, frozenset({"gemstone"})), ["<metal>", "<category>", "."])
        self.assertEqual(delexicalise(self.segments, LABELS, frozenset({"category", "metal"}))[:2], ["piece", "set"])

    def test_a_segment_that_does_not_state_its_label_is_refused(self):
        with self.assertRaisesRegex(SegmentError, "does not state its metal label 'yellow gold'"):
            delexicalise(self.segments, {**LABELS, "metal": "yellow gold"})

    def test_bad_segments_are_refused_naming_the_field(self):
        for raw, message in (
            ([], "non-empty list"),
            ([{"text": "x", "slot": "colour"}], r"\[0\].slot 'colour'"),
            ([{"text": "x", "fallback": "y"}], r"\[0\].fallback"),
            ([{"text": "x", "extra": 1}], "unknown fields"),
        ):
            with self.assertRaisesRegex(SegmentError, message):
                parse_segments(raw, ATTRIBUTES)


class SlotTokenizerTest(unittest.TestCase):
    def test_fills_slots_with_labels_and_fixes_the_article(self):
        words = delexicalise(parse_segments(RAW, ATTRIBUTES), LABELS)
        tokenizer = WordTokenizer.from_sequences([words], ["category", "metal", "gemstone", "setting"])
        ids = tokenizer.words_sequence(words, 40)
        self.assertEqual(ids[0], BOS_ID)
        self.assertEqual(ids[-1], EOS_ID)
        text = tokenizer.decode(ids[1:], {"category": "ring", "metal": "sterling silver", "gemstone": "amethyst", "setting": "halo"})
        self.assertEqual(text, "Sterling silver ring set with an amethyst in a halo setting.")
        text = tokenizer.decode(ids[1:], {"category": "ring", "metal": "rose gold", "gemstone": "ruby", "setting": "halo"})
        self.assertEqual(text, "Rose gold ring set with a ruby in a halo setting.")

    def test_round_trips_through_json_as_format_2(self):
        tokenizer = WordTokenizer.from_sequences([["<category>", "."]], ["category"])
        data = tokenizer.to_json()
        self.assertEqual(data["format"], "facet-word-tokenizer/2")
        self.assertEqual(data["slots"], {"category": tokenizer.vocab.index("<category>")})
        self.assertEqual(WordTokenizer.from_json(data).slots, tokenizer.slots)
        self.assertEqual(WordTokenizer.build(["a b"]).to_json()["format"], "facet-word-tokenizer/1")


if __name__ == "__main__":
    unittest.main()
