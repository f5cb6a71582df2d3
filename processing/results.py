"""The JSON shape of a read document, shared by the API, the downloads and `manage.py process`."""

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass
class Word:
    text: str
    box: list[int]  # [x0, y0, x1, y1] in page pixels
    confidence: float


@dataclass
class PageResult:
    number: int
    source: str
    text: str
    mean_confidence: float | None
    words: list[Word]
    width: int
    height: int
    timings: dict[str, float] = field(default_factory=dict)


def page_json(number: int, source: str, text: str, mean_confidence: float | None, words: list[Any]) -> dict:
    return {
        "number": number,
        "source": source,
        "text": text,
        "mean_confidence": mean_confidence,
        "words": [asdict(w) if isinstance(w, Word) else w for w in words],
    }


def document_json(*, file: str, status: str, error: str, pages: list[dict], timings: dict[str, float]) -> dict:
    return {"file": file, "status": status, "error": error or None, "pages": pages, "timings": timings}
