"""Helpers shared by the structured extractors: the text of a row after a mention, word boxes
of a regex match, and the fields every record carries."""

import re
from typing import overload

from processing.engine.passes.context import Context
from processing.engine.passes.entities import Mention, word_offsets
from processing.engine.passes.layout import Line
from processing.engine.passes.records import RecordFields

# run_passes names a record's encounter once the whole document is read; until then the key
# holds this, so that it keeps its place among the record's fields.
ENCOUNTER_NOT_YET_KNOWN = ""


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


def record_fields(line: Line, words: list[int], ctx: Context) -> RecordFields:
    """The fields every kind of record carries, after its own: read from `words` of `line`."""
    return {
        "encounter": ENCOUNTER_NOT_YET_KNOWN,
        "page": line.page,
        "boxes": line.boxes_of(sorted(set(words))),
        "negated": ctx.negated,
        "context": list(ctx.tags),
        "section": ctx.section,
        "text": line.words_text(sorted(set(words))),
    }


def mention_fields(mention: Mention, extra_words: list[int]) -> RecordFields:
    """The fields every record carries, for one read from a mention and the words after it."""
    return record_fields(mention.line, mention.words + extra_words, mention.context)


def first_match(pattern: re.Pattern[str], segment: Segment) -> tuple[re.Match[str] | None, list[int]]:
    match = pattern.search(segment.text)
    return (match, segment.words_in(match.start(), match.end())) if match else (None, [])


def number(text: str) -> float | None:
    try:
        return float(text.replace(",", ""))
    except ValueError:
        return None


@overload
def clean_number(value: float) -> float: ...
@overload
def clean_number(value: float | None) -> float | None: ...
def clean_number(value: float | None) -> float | None:
    """A whole number as an int: 1, not 1.0."""
    if value is None:
        return None
    return int(value) if value == int(value) else value
