"""Pages as the pipeline stores them, made from text or from positioned words."""

from collections.abc import Mapping, Sequence
from typing import Any, TypeVar

Found = TypeVar("Found", bound=Mapping[str, Any])


def text_page(lines: list[str], number: int = 1) -> dict[str, Any]:
    """A page with text only (no word boxes), as an OCR-less reader would give."""
    return {"number": number, "text": "\n".join(lines), "words": [], "width": 2550, "height": 3300}


def boxed_page(rows: list[list[tuple[int, str]]], number: int = 1) -> dict[str, Any]:
    """A page whose words have boxes: each row is a list of (x, word), 60 px apart vertically."""
    words = []
    for r, row in enumerate(rows):
        y = 200 + r * 60
        for x, text in row:
            words.append({"text": text, "box": [x, y, x + 18 * len(text), y + 40], "confidence": 95.0})
    text = "\n".join(" ".join(t for _, t in row) for row in rows)
    return {"number": number, "text": text, "words": words, "width": 2550, "height": 3300}


def only(items: Sequence[Found], **match: Any) -> Found:
    """The one record whose fields equal `match`."""
    found = [i for i in items if all(i.get(k) == v for k, v in match.items())]
    assert len(found) == 1, f"expected one record with {match}, got {found}"
    return found[0]


def cells_page(rows: list[tuple[int, list[tuple[int, str]]]], number: int = 1) -> dict[str, Any]:
    """A page of table rows at given heights: each row is (y, [(x, cell text)]); a cell's words
    are laid out 18 px a letter, one letter apart, each 40 px high."""
    words = []
    for y, cells in rows:
        for x, text in cells:
            left = x
            for word in text.split():
                words.append({"text": word, "box": [left, y, left + 18 * len(word), y + 40], "confidence": 95.0})
                left += 18 * (len(word) + 1)
    text = "\n".join("  ".join(t for _, t in cells) for _, cells in rows)
    return {"number": number, "text": text, "words": words, "width": 2550, "height": 3300}
