"""Pages as lines, cells and tokens, each token tied to the OCR word (and box) it came from.

The passes read lines rebuilt from the word boxes rather than the page's flat text: OCR text
of a table often reads column by column, while words grouped by their vertical position give
the printed row back, and a wide horizontal gap between words marks a table cell.
"""

import re
from dataclasses import dataclass, field
from typing import Any

from processing.engine.passes.columns import gutter, reading_order
from processing.engine.passes.skew import page_slope

TOKEN_RE = re.compile(r"[A-Za-z0-9]+|[^\sA-Za-z0-9]")
ROW_REACH = 0.5  # of the page's median word height: how far from a row's middle a word may sit


@dataclass
class Token:
    text: str
    lower: str
    word: int  # index of the word in its line


@dataclass
class Cell:
    text: str
    x0: float
    x1: float
    words: list[int]


@dataclass
class Line:
    page: int
    index: int  # position on its page, top to bottom
    words: list[str]
    boxes: list[list[int] | None]
    height: float  # of the page, 0 when unknown
    y0: float = 0.0
    y1: float = 0.0
    cells: list[Cell] = field(default_factory=list)
    tokens: list[Token] = field(default_factory=list)
    # a word joined across a line end ("maece-" / "nas"): its index -> each piece's box
    pieces: dict[int, list[list[int]]] = field(default_factory=dict)

    @property
    def text(self) -> str:
        return "  ".join(cell.text for cell in self.cells) if self.cells else " ".join(self.words)

    def boxes_of(self, words: range | list[int]) -> list[list[int]]:
        """The boxes a record read from these words outlines: both pieces of a joined word."""
        boxes: list[list[int]] = []
        for i in words:
            if 0 <= i < len(self.boxes) and (box := self.boxes[i]) is not None:
                boxes += self.pieces.get(i) or [box]
        return boxes

    def words_text(self, words: range | list[int]) -> str:
        return " ".join(self.words[i] for i in words if 0 <= i < len(self.words))


def _get(page: Any, name: str, default: Any = None) -> Any:
    if isinstance(page, dict):
        return page.get(name, default)
    return getattr(page, name, default)


def _confidence(word: Any) -> float:
    value = _get(word, "confidence")
    return float(value) if value is not None else 100.0


# OCR of a scan reads specks of dirt as short 'words' ('.', '_', 'ae', 'a 3') with little
# confidence or a sliver of height; they would open table cells and break rows between a
# vital's name and its value. Nothing a record needs is that short and that doubtful.
SPECK_LENGTH, SPECK_CONFIDENCE, SLIVER = 3, 40.0, 0.3
# Short words a record turns on are kept however doubtful OCR is of them: a lost 'Not' turns
# 'Not allergic to peanuts' into an allergy
MEANINGFUL_SHORT_WORDS = frozenset(
    {
        "no", "not", "nor", "non", "nil", "neg", "nka", "nkda", "nkma", "bid", "tid", "qid", "qhs", "prn",
        "po", "iv", "im", "sc", "mg", "mcg", "ml", "kg", "lb", "lbs", "cm", "mm", "bp", "hr", "rr", "pr",
    }
)  # fmt: skip


def _without_specks(words: list[tuple[str, list[int]]], confidences: list[float]) -> list[tuple[str, list[int]]]:
    if not words or min(confidences) >= SPECK_CONFIDENCE:
        return words  # a text layer, or a clean read
    heights = sorted(b[3] - b[1] for _, b in words)
    median = heights[len(heights) // 2]
    return [
        (text, box)
        for (text, box), confidence in zip(words, confidences, strict=True)
        if len(text) > SPECK_LENGTH
        or text.lower().strip(".,:;") in MEANINGFUL_SHORT_WORDS
        or not (
            box[3] - box[1] < SLIVER * median or (confidence < SPECK_CONFIDENCE and not any(c.isdigit() for c in text))
        )
    ]


def _pieces(word: Any) -> list[list[int]]:
    """The boxes of a word joined across a line end (none for a whole word)."""
    return [list(box) for box in _get(word, "parts") or []]


def page_lines(page: Any) -> list[Line]:
    """The lines of one page-like object (a dict, a DB Page or a PageResult)."""
    number = int(_get(page, "number", 1) or 1)
    height = float(_get(page, "height", 0) or 0)
    # Words with a box, and how sure OCR is of each (a text layer's are sure).
    raw_words = _get(page, "words", None) or []
    placed = [
        (text, box, _confidence(w))
        for w in raw_words
        if (text := str(_get(w, "text", ""))).strip() and (box := _get(w, "box")) and len(box) == 4
    ]
    words = _without_specks([(text, box) for text, box, _ in placed], [confidence for *_, confidence in placed])
    if words:
        lines = _lines_from_words(number, words, height)
        between = gutter(lines)
        if between is not None:  # two columns of text: one after the other
            streams = reading_order(lines, between)
            lines = [line for stream in streams for line in _lines_from_words(number, stream, height)]
            for index, line in enumerate(lines):
                line.index = index
        joined = {tuple(b): pieces for w in raw_words if (pieces := _pieces(w)) and (b := _get(w, "box"))}
        for line in lines if joined else []:
            line.pieces = {i: joined[tuple(box)] for i, box in enumerate(line.boxes) if box and tuple(box) in joined}
        if not height:  # pages from `process_file` carry no size: the lowest word stands in
            height = max(line.y1 for line in lines) if lines else 0
            for line in lines:
                line.height = height
    else:
        lines = _lines_from_text(number, str(_get(page, "text", "") or ""))
    for line in lines:
        _tokenize(line)
    return lines


def _lines_from_words(number: int, words: list[tuple[str, list[int]]], height: float) -> list[Line]:
    """Rows of words by their vertical position, read along the page's slant when it was
    scanned askew (`skew.page_slope`): a row's words keep their own boxes."""
    slope = page_slope(words)

    def level(box: list[int], y: int) -> float:  # y as if the page were straight
        return y - slope * (box[0] + box[2]) / 2

    ordered = sorted(words, key=lambda w: ((level(w[1], w[1][1]) + level(w[1], w[1][3])) / 2, w[1][0]))
    heights = sorted(b[3] - b[1] for _, b in words)
    reach = ROW_REACH * heights[len(heights) // 2]
    rows: list[list[tuple[str, list[int]]]] = []
    bounds: list[list[float]] = []
    centres: list[list[float]] = []  # each row's sum of word centres and count
    for text, box in ordered:
        top, bottom = level(box, box[1]), level(box, box[3])
        centre = (top + bottom) / 2
        # A word joins the nearest of the last two rows whose middle is within half a line of
        # its own (rows are printed in order, so two rows back is enough and keeps this
        # linear); a row's middle is its words' mean, so one tall bracket or a speck does not
        # stretch it over the next row, as a wrapped header's second line is.
        near = [
            (abs(centre - total / count), k)
            for k, (total, count) in enumerate(centres[-2:], start=max(len(centres) - 2, 0))
            if abs(centre - total / count) <= reach
        ]
        if near:
            k = min(near)[1]
            rows[k].append((text, box))
            bounds[k][0], bounds[k][1] = min(bounds[k][0], top), max(bounds[k][1], bottom)
            centres[k][0] += centre
            centres[k][1] += 1
        else:
            rows.append([(text, box)])
            bounds.append([top, bottom])
            centres.append([centre, 1])
    lines = []
    for index, (row, bound) in enumerate(zip(rows, bounds, strict=True)):
        row.sort(key=lambda w: w[1][0])
        line = Line(number, index, [t for t, _ in row], [list(b) for _, b in row], height)
        line.y0, line.y1 = bound
        line.cells = _cells(row)
        lines.append(line)
    return lines


def _cells(row: list[tuple[str, list[int]]]) -> list[Cell]:
    heights = sorted(b[3] - b[1] for _, b in row)
    gap = max(8.0, heights[len(heights) // 2] * 1.6)  # wider than a space between words
    cells: list[Cell] = []
    for i, (text, box) in enumerate(row):
        if cells and box[0] - cells[-1].x1 <= gap:
            cell = cells[-1]
            cell.text += " " + text
            cell.x1 = max(cell.x1, box[2])
            cell.words.append(i)
        else:
            cells.append(Cell(text, box[0], box[2], [i]))
    return cells


def _lines_from_text(number: int, text: str) -> list[Line]:
    lines = []
    for index, raw in enumerate(text.splitlines()):
        parts = [p for p in re.split(r"\s{2,}|\t", raw.strip()) if p]
        words: list[str] = []
        cells: list[Cell] = []
        for part in parts:
            start = len(words)
            words.extend(part.split())
            cells.append(Cell(part, float(start), float(len(words)), list(range(start, len(words)))))
        line = Line(number, index, words, [None] * len(words), 0.0, float(index), float(index + 1), cells)
        lines.append(line)
    return [line for line in lines if line.words]


# OCR reads the letter O of 'CO2', 'pCO2', 'SpO2' as a zero: matched as the letter, printed as read
O_READ_AS_ZERO = re.compile(r"([a-z]{1,3})02")


def _tokenize(line: Line) -> None:
    tokens = []
    for i, word in enumerate(line.words):
        for match in TOKEN_RE.finditer(word):
            lower = match.group().lower()
            slip = O_READ_AS_ZERO.fullmatch(lower)
            tokens.append(Token(match.group(), f"{slip.group(1)}o2" if slip else lower, i))
    line.tokens = tokens


def document_lines(pages: list[Any]) -> list[Line]:
    """Every line of every page, in reading order."""
    ordered = sorted(pages, key=lambda p: int(_get(p, "number", 0) or 0))
    return [line for page in ordered for line in page_lines(page)]
