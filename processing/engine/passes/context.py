"""Sections and ConText: what part of the record a mention is in, and what is said about it.

A small re-implementation of ConText (Harkema et al. 2009), as medspaCy's ConText does it:
trigger phrases modify the mentions after them (forward) or before them (backward) within the
same sentence, until a termination term or a few words. We wrote it ourselves because
medspaCy 1.3 ran 19 kB of text in 12 s here and pins spaCy 3.7 with ~45 dependencies; these
rules cost microseconds per line.
"""

from dataclasses import dataclass, field
from functools import cache
from typing import Literal

from processing.engine.passes import vocabulary
from processing.engine.passes.layout import Line

MAX_SCOPE = 8  # words a trigger reaches, as ConText's default window
SENTENCE_END = {".", ";", "!", "?"}
SECTION_IS = {
    "family_history": "family",
    "past_history": "historical",
}
# What a trigger says of a mention; a phrase listed under two of them says the first.
TRIGGER_CATEGORIES: tuple[Literal["negated", "historical", "hypothetical", "family", "uncertain"], ...] = (
    "negated", "historical", "hypothetical", "family", "uncertain",
)  # fmt: skip
DIRECTIONS: tuple[Literal["forward", "backward"], ...] = ("forward", "backward")


@dataclass
class Section:
    category: str  # a key of data/sections.json, or "" before the first header
    title: str
    start: int  # first line index (in the document line list) after the header


@dataclass
class Context:
    negated: bool = False
    tags: list[str] = field(default_factory=list)  # historical, hypothetical, family, uncertain
    section: str = ""

    @property
    def family(self) -> bool:
        return "family" in self.tags


def header_category(line: Line) -> tuple[str, int] | None:
    """The section a line opens, and how many of its tokens the header takes.

    A header is printed alone ('ALLERGIES') or before its first item ('Allergies: penicillin').
    """
    tokens = [t.lower for t in line.tokens]
    headers = vocabulary.sections()
    letters = [c for c in line.text if c.isalpha()]
    # A heading in capitals ('ALLERGIES, ADVERSE REACTIONS AND ALERTS') opens the section its
    # first words name, even when the rest of it is not in our list.
    if letters and all(c.isupper() for c in letters) and len(line.words) <= 8 and len(line.cells) == 1:
        for n in range(min(len(tokens), 4), 0, -1):
            if tuple(tokens[:n]) in headers and tokens[n : n + 1] != [":"]:  # 'ALLERGIES: NKDA' has an item
                return headers[tuple(tokens[:n])], len(tokens)
    for n in range(min(len(tokens), 8), 0, -1):
        category = headers.get(tuple(tokens[:n]))
        if category is None:
            continue
        rest = tokens[n:]
        if not rest:
            return category, n
        if rest[0] == ":":
            return category, n + 1
        # 'Medications' above its table is a header; 'medications reviewed' is a sentence
        if line.cells and len(line.cells[0].words) <= n + 1 and len(line.cells) > 1 and _is_title(line, n):
            return category, n
        # a heading in title case that goes on naming what the section holds ('Allergies,
        # Adverse Reactions and Alerts', 'Medications & Supplements'): no sentence, no number
        if rest[0] in (",", "&", "and", "/") and _titled_heading(line):
            return category, len(tokens)
    return None


def _titled_heading(line: Line) -> bool:
    words = line.words
    if len(words) > 8 or len(line.cells) != 1 or any(c.isdigit() for c in line.text) or line.text.endswith("."):
        return False
    long_words = [w for w in words if len(w) > 3 and w[:1].isalpha()]
    # most, not all: OCR may split a word of it ('A dverse')
    return sum(w[:1].isupper() for w in long_words) >= 0.6 * len(long_words)


def _is_title(line: Line, n: int) -> bool:
    words = line.words[:n]
    return all(w[:1].isupper() for w in words if w[:1].isalpha())


@cache
def _triggers() -> dict[str, dict[tuple[str, ...], str]]:
    """direction -> phrase tokens -> category."""
    rules = vocabulary.context_rules()
    table: dict[str, dict[tuple[str, ...], str]] = {"forward": {}, "backward": {}}
    for category in TRIGGER_CATEGORIES:
        for direction in DIRECTIONS:
            for phrase in rules[category].get(direction, []):
                table[direction].setdefault(vocabulary.norm_tokens(phrase), category)
    table["terminate"] = {vocabulary.norm_tokens(p): "terminate" for p in rules["terminate"]}
    return table


def _find(tokens: list[str], phrases: dict[tuple[str, ...], str]) -> list[tuple[int, int, str]]:
    found = []
    i = 0
    while i < len(tokens):
        for n in (4, 3, 2, 1):
            category = phrases.get(tuple(tokens[i : i + n]))
            if category is not None:
                found.append((i, i + n, category))
                i += n
                break
        else:
            i += 1
    return found


def sentence_bounds(tokens: list[str], start: int, end: int) -> tuple[int, int]:
    """The sentence (or table cell run) around tokens[start:end]."""
    left = start
    while left > 0 and tokens[left - 1] not in SENTENCE_END:
        left -= 1
    right = end
    while right < len(tokens) and tokens[right] not in SENTENCE_END:
        right += 1
    return left, right


def assess(tokens: list[str], start: int, end: int, section: str) -> Context:
    """The context of the mention tokens[start:end] within its unit of text (a line or cell)."""
    left, right = sentence_bounds(tokens, start, end)
    table = _triggers()
    found: set[str] = set()
    before = tokens[left:start]
    terms = _find(before, table["terminate"])
    cut = max((e for _s, e, _c in terms), default=0)
    for s, e, category in _find(before, table["forward"]):
        if s >= cut and start - (left + e) <= MAX_SCOPE:
            found.add(category)
    after = tokens[end:right]
    terms_after = _find(after, table["terminate"])
    stop = min((s for s, _e, _c in terms_after), default=len(after))
    for s, _e, category in _find(after, table["backward"]):
        if s <= stop and s <= MAX_SCOPE:
            found.add(category)
    if section in SECTION_IS:
        found.add(SECTION_IS[section])
    negated = "negated" in found
    tags: list[str] = [t for t in ("historical", "hypothetical", "family", "uncertain") if t in found]
    return Context(negated=negated, tags=tags, section=section)
