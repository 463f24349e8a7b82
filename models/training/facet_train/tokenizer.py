"""The word tokenizer of FORMAT.md (`facet-word-tokenizer/1`, and `/2` with slots).

The TypeScript runtime re-implements exactly these rules, so they are kept
literal: lower-case, split by one regular expression, map unknown words to
`<unk>`; detokenise by joining with spaces and fixing the spacing of
punctuation; fill each slot with its attribute's label.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Iterable, Sequence

FORMAT = "facet-word-tokenizer/1"
# /2 adds slots: one token per attribute whose label the text states (models/FORMAT.md).
FORMAT_SLOTS = "facet-word-tokenizer/2"
SPECIALS = ("<pad>", "<bos>", "<eos>", "<unk>")
PAD_ID, BOS_ID, EOS_ID, UNK_ID = 0, 1, 2, 3


def slot_token(attribute: str) -> str:
    """The vocabulary entry standing for `attribute`'s label in delexicalised text."""
    return f"<{attribute}>"


_WORD = re.compile(r"[a-z0-9]+|[^\sa-z0-9]")
_NO_SPACE_BEFORE = re.compile(r" ([,.;:!?)])")
_NO_SPACE_AFTER = re.compile(r"\( ")


class TokenizerError(ValueError):
    """A tokenizer file that does not follow facet-word-tokenizer/1."""


def split_words(text: str) -> list[str]:
    """Lower-cases `text` and splits it into words and single punctuation characters."""
    return _WORD.findall(text.lower())


def join_words(words: Sequence[str]) -> str:
    """Joins words back into a sentence (the inverse of `split_words` up to case and spacing)."""
    text = " ".join(words)
    text = _NO_SPACE_BEFORE.sub(r"\1", text)
    text = _NO_SPACE_AFTER.sub("(", text)
    return text[:1].upper() + text[1:]


class WordTokenizer:
    """Word ids, and slots: a slot token stands for an attribute's label, which decoding fills in
    from the attribute head (so the text can only state the heads' labels)."""

    def __init__(self, vocab: Sequence[str], slots: Sequence[str] = ()):
        if tuple(vocab[: len(SPECIALS)]) != SPECIALS:
            raise TokenizerError(f"vocab must start with {list(SPECIALS)}, got {list(vocab[:4])}")
        if len(set(vocab)) != len(vocab):
            raise TokenizerError("vocab has duplicate entries")
        self.vocab = list(vocab)
        self._ids = {word: i for i, word in enumerate(self.vocab)}
        missing = [a for a in slots if slot_token(a) not in self._ids]
        if missing:
            raise TokenizerError(f"slots {missing} have no vocabulary entry ({[slot_token(a) for a in missing]})")
        self.slots = {a: self._ids[slot_token(a)] for a in slots}  # attribute -> slot id
        self._slot_of = {i: a for a, i in self.slots.items()}

    @classmethod
    def build(cls, texts: Iterable[str | None]) -> "WordTokenizer":
        """Vocabulary of every word in `texts`, sorted so that a rebuild gives the same ids."""
        return cls.from_sequences(split_words(text) if text is not None else None for text in texts)

    @classmethod
    def from_sequences(cls, sequences: Iterable[Sequence[str] | None], slots: Sequence[str] = ()) -> "WordTokenizer":
        """Vocabulary of every word in `sequences` (word lists, slot tokens included) and the slots, sorted so that a rebuild gives the same ids."""
        words: set[str] = set()
        for sequence in sequences:
            if sequence is not None:
                words.update(sequence)
        words.difference_update(SPECIALS)
        words.update(slot_token(a) for a in slots)
        return cls([*SPECIALS, *sorted(words)], slots)

    @property
    def vocab_size(self) -> int:
        return len(self.vocab)

    def encode(self, text: str) -> list[int]:
        """Word ids of `text`, without `<bos>`/`<eos>`."""
        return self.encode_words(split_words(text))

    def encode_words(self, words: Sequence[str]) -> list[int]:
        return [self._ids.get(word, UNK_ID) for word in words]

    def encode_sequence(self, text: str, max_length: int) -> list[int]:
        """`<bos> words… <eos>`, the words cut so that at most `max_length` tokens follow `<bos>`."""
        return self.words_sequence(split_words(text), max_length)

    def words_sequence(self, words: Sequence[str], max_length: int) -> list[int]:
        return [BOS_ID, *self.encode_words(words)[: max_length - 1], EOS_ID]

    def words(self, ids: Iterable[int], fills: dict[str, str] | None = None) -> list[str]:
        """Words of `ids`, stopping at `<eos>` and leaving out `<bos>`/`<pad>`. A slot becomes the
        words of its attribute's label in `fills` (left out when it has none), and an "a" before a
        filled label that starts with a vowel becomes "an"."""
        out: list[str] = []
        for i in ids:
            if i == EOS_ID:
                break
            if i in (BOS_ID, PAD_ID):
                continue
            attribute = self._slot_of.get(i)
            if attribute is None:
                out.append(self.vocab[i])
                continue
            label = (fills or {}).get(attribute)
            if label is None:
                continue
            filled = split_words(label)
            if out and out[-1] == "a" and filled and filled[0][:1] in "aeiou":
                out[-1] = "an"
            out.extend(filled)
        return out

    def decode(self, ids: Iterable[int], fills: dict[str, str] | None = None) -> str:
        return join_words(self.words(ids, fills))

    def to_json(self) -> dict:
        out = {
            "format": FORMAT_SLOTS if self.slots else FORMAT,
            "vocab": self.vocab,
            "pad_id": PAD_ID,
            "bos_id": BOS_ID,
            "eos_id": EOS_ID,
            "unk_id": UNK_ID,
        }
        if self.slots:
            out["slots"] = dict(self.slots)
        return out

    @classmethod
    def from_json(cls, obj: dict) -> "WordTokenizer":
        if obj.get("format") not in (FORMAT, FORMAT_SLOTS):
            raise TokenizerError(f"tokenizer format must be {FORMAT!r} or {FORMAT_SLOTS!r}, got {obj.get('format')!r}")
        ids = {k: obj.get(k) for k in ("pad_id", "bos_id", "eos_id", "unk_id")}
        if ids != {"pad_id": PAD_ID, "bos_id": BOS_ID, "eos_id": EOS_ID, "unk_id": UNK_ID}:
            raise TokenizerError(f"tokenizer special ids must be 0..3, got {ids}")
        slots = obj.get("slots") or {}
        tokenizer = cls(obj["vocab"], list(slots))
        if tokenizer.slots != slots:
            raise TokenizerError(f"tokenizer slots {slots} do not match the vocabulary's slot entries {tokenizer.slots}")
        return tokenizer

    def save(self, path: Path) -> None:
        path.write_text(json.dumps(self.to_json(), indent=1) + "\n")

    @classmethod
    def load(cls, path: Path) -> "WordTokenizer":
        return cls.from_json(json.loads(path.read_text()))
