"""The JSON shape of a read document, shared by the API, the downloads and `manage.py process`."""

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, NotRequired, TypedDict

from processing.engine.passes.records import Extraction, Records


@dataclass
class Word:
    text: str
    box: list[int]  # [x0, y0, x1, y1] in page pixels
    confidence: float
    # a word a line end split ("maece-" / "nas"): the box of each piece, the first being `box`
    parts: list[list[int]] = field(default_factory=list)


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


class WordJson(TypedDict):
    text: str
    box: list[int]  # [x0, y0, x1, y1] in page pixels
    confidence: float
    parts: NotRequired[list[list[int]]]  # only on a word joined across a line end: each piece's box


class PageJson(TypedDict):
    number: int
    source: str  # ocr, text_layer or none
    text: str
    mean_confidence: float | None
    words: list[WordJson]


class DocumentJson(TypedDict):
    file: str
    status: str
    error: str | None
    pages: list[PageJson]
    timings: dict[str, float]  # seconds: conversion, text_layer, ocr, total


class ReadDocumentJson(DocumentJson, Extraction):
    """A document with what the extraction passes found in it, as `manage.py process --json`
    prints it."""


def page_json(number: int, source: str, text: str, mean_confidence: float | None, words: list[Any]) -> PageJson:
    """`words`: Words as the reader gives them, or the JSON a page row stores."""
    return {
        "number": number,
        "source": source,
        "text": text,
        "mean_confidence": mean_confidence,
        "words": [_word_json(w) if isinstance(w, Word) else w for w in words],
    }


def _word_json(word: Word) -> WordJson:
    json: WordJson = {"text": word.text, "box": list(word.box), "confidence": word.confidence}
    if word.parts:
        json["parts"] = [list(box) for box in word.parts]
    return json


def document_json(
    *, file: str, status: str, error: str, pages: list[PageJson], timings: dict[str, float]
) -> DocumentJson:
    return {"file": file, "status": status, "error": error or None, "pages": pages, "timings": timings}


def extraction_json(extraction: Mapping[str, Any] | None) -> Extraction:
    """`encounters` and `records` as processing.engine.passes.run_passes returns them, from its
    result or from the JSON stored of it; every record kind is present, empty when nothing was
    found or the passes have not run."""
    extraction = extraction or {}
    found = extraction.get("records") or {}
    records: Records = {
        "medications": found.get("medications") or [],
        "labs": found.get("labs") or [],
        "vitals": found.get("vitals") or [],
        "conditions": found.get("conditions") or [],
        "allergies": found.get("allergies") or [],
        "immunizations": found.get("immunizations") or [],
        "procedures": found.get("procedures") or [],
    }
    kind = extraction.get("document_kind") or ("clinical_record" if extraction.get("encounters") else "")
    return {"document_kind": kind, "encounters": extraction.get("encounters") or [], "records": records}


def read_document_json(document: DocumentJson, extraction: Mapping[str, Any] | None) -> ReadDocumentJson:
    """The document followed by its encounters and records (`extraction_json`), in one object."""
    return {**document, **extraction_json(extraction)}
