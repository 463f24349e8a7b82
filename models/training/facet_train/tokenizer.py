"""The word tokenizer of FORMAT.md (`facet-word-tokenizer/1`).

The TypeScript runtime re-implements exactly these rules, so they are kept
literal: lower-case, split by one regular expression, map unknown words to
`<unk>`; detokenise by joining with spaces and fixing the spacing of
punctuation.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Iterable, Sequence

FORMAT = "facet-word-tokenizer/1"
SPECIALS = ("<pad>", "<bos>", "<eos>", "<unk>")
PAD_ID, BOS_ID, EOS_ID, UNK_ID = 0, 1, 2, 3

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
    def __init__(self, vocab: Sequence[str]):
        if tuple(vocab[: len(SPECIALS)]) != SPECIALS:
            raise TokenizerError(f"vocab must start with {list(SPECIALS)}, got {list(vocab[:4])}")
        if len(set(vocab)) != len(vocab):
            raise TokenizerError("vocab has duplicate entries")
        self.vocab = list(vocab)
        self._ids = {word: i for i, word in enumerate(self.vocab)}

    @classmethod
    def build(cls, texts: Iterable[str | None]) -> "WordTokenizer":
        """Vocabulary of every word in `texts`, sorted so that a rebuild gives the same ids."""
        words: set[str] = set()
        for text in texts:
            if text is not None:
                words.update(split_words(text))
        words.difference_update(SPECIALS)
        return cls([*SPECIALS, *sorted(words)])

    @property
    def vocab_size(self) -> int:
        return len(self.vocab)

    def encode(self, text: str) -> list[int]:
        """Word ids of `text`, without `<bos>`/`<eos>`."""
        return [self._ids.get(word, UNK_ID) for word in split_words(text)]

    def encode_sequence(self, text: str, max_length: int) -> list[int]:
        """`<bos> words… <eos>`, the words cut so that at most `max_length` tokens follow `<bos>`."""
        return [BOS_ID, *self.encode(text)[: max_length - 1], EOS_ID]

    def words(self, ids: Iterable[int]) -> list[str]:
        """Words of `ids`, stopping at `<eos>` and leaving out `<bos>`/`<pad>`."""
        out: list[str] = []
        for i in ids:
            if i == EOS_ID:
                break
            if i in (BOS_ID, PAD_ID):
                continue
            out.append(self.vocab[i])
        return out

    def decode(self, ids: Iterable[int]) -> str:
        return join_words(self.words(ids))

    def to_json(self) -> dict:
        return {
            "format": FORMAT,
            "vocab": self.vocab,
            "pad_id": PAD_ID,
            "bos_id": BOS_ID,
            "eos_id": EOS_ID,
            "unk_id": UNK_ID,
        }

    @classmethod
    def from_json(cls, obj: dict) -> "WordTokenizer":
        if obj.get("format") != FORMAT:
            raise TokenizerError(f"tokenizer format must be {FORMAT!r}, got {obj.get('format')!r}")
        ids = {k: obj.get(k) for k in ("pad_id", "bos_id", "eos_id", "unk_id")}
        if ids != {"pad_id": PAD_ID, "bos_id": BOS_ID, "eos_id": EOS_ID, "unk_id": UNK_ID}:
            raise TokenizerError(f"tokenizer special ids must be 0..3, got {ids}")
        return cls(obj["vocab"])

    def save(self, path: Path) -> None:
        path.write_text(json.dumps(self.to_json(), indent=1) + "\n")

    @classmethod
    def load(cls, path: Path) -> "WordTokenizer":
        return cls.from_json(json.loads(path.read_text()))
