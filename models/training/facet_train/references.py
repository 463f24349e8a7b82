"""Reference texts as training targets: house-style segments, delexicalised into slots, with
attributes left out the way decoding leaves them out.

A dataset item may carry `reference_segments` (models/FORMAT.md): the house-style sentence cut
into pieces, each naming the attribute whose label it states (`slot`), the attributes it needs
(`requires`) and what to say instead when its attribute is left out (`fallback`). From them:

- the label words become the attribute's slot token ("sterling silver ring" -> "<metal>
  <category>"), so the decoder never writes a label itself: decoding fills each slot with the
  attribute head's label, and the text cannot contradict the heads;
- training sometimes leaves an attribute out (its segment dropped, or its fallback said), as
  decoding does for an attribute below the review threshold, so the decoder has learnt a
  fluent sentence without it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

from .tokenizer import slot_token, split_words


class SegmentError(ValueError):
    """Reference segments that do not fit their product (the message says which and why)."""


@dataclass(frozen=True)
class Segment:
    text: str
    slot: str | None = None  # the attribute whose label this segment states
    requires: tuple[str, ...] = ()  # dropped when any of these attributes is left out
    fallback: str | None = None  # said instead when `slot` is left out (else the segment is dropped)


def parse_segments(raw: object, attributes: Sequence[str]) -> tuple[Segment, ...]:
    """Segments from items.jsonl; raises SegmentError naming the field at fault."""
    if not isinstance(raw, list) or not raw:
        raise SegmentError("must be a non-empty list")
    names = set(attributes)
    out: list[Segment] = []
    for i, item in enumerate(raw):
        if not isinstance(item, dict) or not isinstance(item.get("text"), str):
            raise SegmentError(f"[{i}] must be an object with a string 'text'")
        unknown = sorted(set(item) - {"text", "slot", "requires", "fallback"})
        if unknown:
            raise SegmentError(f"[{i}] has unknown fields {unknown}")
        slot = item.get("slot")
        if slot is not None and slot not in names:
            raise SegmentError(f"[{i}].slot {slot!r} is not an attribute of the dataset")
        requires = item.get("requires", [])
        if not isinstance(requires, list) or any(r not in names for r in requires):
            raise SegmentError(f"[{i}].requires must list attributes of the dataset, got {requires!r}")
        fallback = item.get("fallback")
        if fallback is not None and (not isinstance(fallback, str) or slot is None):
            raise SegmentError(f"[{i}].fallback must be a string, on a segment with a slot")
        out.append(Segment(item["text"], slot, tuple(requires), fallback))
    return tuple(out)


def _replace_phrase(words: list[str], phrase: list[str], token: str) -> list[str] | None:
    """`words` with the first occurrence of `phrase` replaced by `token`, or None if absent."""
    n = len(phrase)
    for i in range(len(words) - n + 1):
        if words[i : i + n] == phrase:
            out = words[:i] + [token] + words[i + n :]
            # "an" before a slot is written "a": decoding picks the article from the label it fills in.
            if i > 0 and out[i - 1] == "an":
                out[i - 1] = "a"
            return out
    return None


def delexicalise(segments: Sequence[Segment], labels: dict[str, str], omitted: frozenset[str] = frozenset()) -> list[str]:
    """The target words: each slot segment's label replaced by its slot token, attributes in `omitted` left out.

    `labels` maps each slot attribute to the product's label; a segment whose text does not contain
    its label's words raises SegmentError.
    """
    out: list[str] = []
    for s in segments:
        if any(r in omitted for r in s.requires):
            continue
        if s.slot is not None and s.slot in omitted:
            if s.fallback is not None:
                out.extend(split_words(s.fallback))
            continue
        words = split_words(s.text)
        if s.slot is not None:
            label = labels.get(s.slot)
            replaced = _replace_phrase(words, split_words(label), slot_token(s.slot)) if label else None
            if replaced is None:
                raise SegmentError(f"segment {s.text!r} does not state its {s.slot} label {label!r}")
            words = replaced
        out.extend(words)
    return out
