"""Helpers shared by the structured extractors: the text of a row after a mention, word boxes
of a regex match, and the fields every record carries."""

import re
from typing import Any

from processing.engine.passes.context import Context
from processing.engine.passes.entities import Mention, word_offsets
from processing.engine.passes.layout import Line


class Segment:
    """A run of words of one line as a string, so regexes can run on it and map back to words."""

    def __init__(self, line: Line, first_word: int, last_word: int | None = None) -> None:
        self.line = line
        last = len(line.words) if last_word is None else last_word
        offsets = word_offsets(line)
        self.words = list(range(first_word, last))
        base = offsets[first_word][0] if self.words else 0
        self.text = line.text[base : offsets[last - 1][1]] if self.words else ""
        self.spans = [(offsets[i][0] - base, offsets[i][1] - base) for i in self.words]

    def words_in(self, start: int, end: int) -> list[int]:
        return [w for w, (s, e) in zip(self.words, self.spans, strict=True) if s < end and start < e]


def record(line: Line, words: list[int], ctx: Context, position: int, **fields: Any) -> dict[str, Any]:
    """A record with the fields every kind carries; `_position` orders it and finds its encounter."""
    return {
        **fields,
        "encounter": None,
        "page": line.page,
        "boxes": line.boxes_of(sorted(set(words))),
        "negated": ctx.negated,
        "context": list(ctx.tags),
        "section": ctx.section,
        "text": line.words_text(sorted(set(words))),
        "_position": position,
    }


def mention_record(mention: Mention, extra_words: list[int], **fields: Any) -> dict[str, Any]:
    return record(mention.line, mention.words + extra_words, mention.context, mention.position, **fields)


def first_match(pattern: re.Pattern[str], segment: Segment) -> tuple[re.Match[str] | None, list[int]]:
    match = pattern.search(segment.text)
    return (match, segment.words_in(match.start(), match.end())) if match else (None, [])


def number(text: str) -> float | None:
    try:
        return float(text.replace(",", ""))
    except ValueError:
        return None


def clean_number(value: float | None) -> float | int | None:
    if value is None:
        return None
    return int(value) if value == int(value) else value
