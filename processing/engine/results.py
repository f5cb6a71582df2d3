"""The JSON shape of a read document, shared by the API, the downloads and `manage.py process`."""

from dataclasses import asdict, dataclass, field
from typing import Any

from processing.engine.passes import RECORD_KINDS


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


def extraction_json(extraction: dict | None) -> dict:
    """`encounters` and `records` as processing.engine.passes.run_passes returns them; every record
    kind is present, empty when nothing was found or the passes have not run."""
    extraction = extraction or {}
    records = extraction.get("records") or {}
    return {
        "encounters": extraction.get("encounters") or [],
        "records": {kind: records.get(kind) or [] for kind in RECORD_KINDS},
    }
