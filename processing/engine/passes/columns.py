"""Pages printed in two columns of text, read one column after the other.

Rows rebuilt from word positions run straight across a page, so on a two-column page each
line would hold the end of a left-column sentence and the start of a right-column one, and a
heading in one column would share its line with text from the other. A page is taken for two
columns of text when a vertical gutter near its middle is crossed by few rows, and most rows
on each side of it are long (prose fills its column; a table's cells leave most of a half-page
band empty, so a table keeps its rows across the page), and few rows on either side hold
cells apart (a table's other columns do).
"""

from collections.abc import Sequence
from itertools import pairwise
from typing import Protocol


class Line(Protocol):
    """What this module reads of a `layout.Line` (layout calls it: no import back)."""

    words: list[str]
    boxes: list[list[int] | None]
    y0: float
    y1: float


MIN_LINES = 12
GUTTER_ZONE = (0.35, 0.65)  # where the gutter may be, as shares of the text's width
MAX_CROSSING = 0.15  # rows running across the gutter: a banner, a title, a footer
MIN_SIDE_ROWS = 0.25  # each column holds at least this share of the rows
FULL_SHARE = 0.5  # a prose row covers at least half its column's width...
MIN_FULL_ROWS = 0.45  # ...in many of the column's rows (a list's items are short)
MAX_SPLIT_ROWS = 0.1  # rows of a column with a wide gap inside: a table's cells


def gutter(lines: Sequence[Line]) -> float | None:
    """The x of the gutter between two columns of text, or None for a page of one column."""
    # marks with no letter or digit are left out: on a scan, specks read as '.', '-' or '|'
    boxed = [[b for w, b in zip(line.words, line.boxes, strict=True) if b is not None and _inked(w)] for line in lines]
    boxed = [boxes for boxes in boxed if boxes]
    if len(boxed) < MIN_LINES:
        return None
    left_edge = min(b[0] for boxes in boxed for b in boxes)
    right_edge = max(b[2] for boxes in boxed for b in boxes)
    width = right_edge - left_edge
    candidates = range(int(left_edge + GUTTER_ZONE[0] * width), int(left_edge + GUTTER_ZONE[1] * width), 6)
    best = min(candidates, key=lambda x: sum(any(b[0] < x < b[2] for b in boxes) for boxes in boxed), default=None)
    if best is None:
        return None
    crossing = sum(any(b[0] < best < b[2] for b in boxes) for boxes in boxed)
    lefts = [[b for b in boxes if b[2] <= best] for boxes in boxed if not any(b[0] < best < b[2] for b in boxes)]
    rights = [[b for b in boxes if b[0] >= best] for boxes in boxed if not any(b[0] < best < b[2] for b in boxes)]
    lefts, rights = [side for side in lefts if side], [side for side in rights if side]
    if crossing > MAX_CROSSING * len(boxed) or min(len(lefts), len(rights)) < MIN_SIDE_ROWS * len(boxed):
        return None
    if not (_prose(lefts, best - left_edge) and _prose(rights, right_edge - best)):
        return None
    return float(best)


def _inked(word: str) -> bool:
    return word.isalnum() or (any(c.isalnum() for c in word) and len(word.strip("'\"`~_-.,:;|")) > 1)


def _prose(rows: list[list[list[int]]], column_width: float) -> bool:
    full = sum(max(b[2] for b in row) - min(b[0] for b in row) >= FULL_SHARE * column_width for row in rows)
    split = sum(_has_gap(row) for row in rows)
    return full >= MIN_FULL_ROWS * len(rows) and split <= MAX_SPLIT_ROWS * len(rows)


def _has_gap(row: list[list[int]]) -> bool:
    """Two words of the row further apart than three letters' heights: cells of a table."""
    ordered = sorted(row)
    heights = sorted(b[3] - b[1] for b in row)
    wide = 1.6 * max(heights[len(heights) // 2], 8)
    return any(b[0] - a[2] > wide for a, b in pairwise(ordered))


def reading_order(lines: Sequence[Line], x: float) -> list[list[tuple[str, list[int]]]]:
    """The page's words in the order a reader takes them: rows across the gutter above the
    columns (title, banner), the left column, the right one, then rows across below (footer).
    A row across the gutter between column rows (a wide table) is read with the left column."""

    def crosses(line: Line) -> bool:
        return any(b is not None and b[0] < x < b[2] for b in line.boxes)

    column_rows = [line for line in lines if not crosses(line)]
    top, bottom = min(line.y0 for line in column_rows), max(line.y1 for line in column_rows)
    above: list[tuple[str, list[int]]] = []
    left: list[tuple[str, list[int]]] = []
    right: list[tuple[str, list[int]]] = []
    below: list[tuple[str, list[int]]] = []
    for line in lines:
        words = [(w, b) for w, b in zip(line.words, line.boxes, strict=True) if b is not None]
        if not crosses(line):
            left += [(w, b) for w, b in words if b[2] <= x]
            right += [(w, b) for w, b in words if b[0] >= x]
        elif line.y1 <= top:
            above += words
        elif line.y0 >= bottom:
            below += words
        else:
            left += words
    return [stream for stream in (above, left, right, below) if stream]
