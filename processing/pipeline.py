"""The stages a document goes through, top to bottom.

1. `start_document`: count the pages, note which carry a text layer that stands in for OCR,
   and create a row per page; the pages are then sent a few messages at a time, one page to
   a message, or a run of text-layer pages to one (processing.dispatch), so that the pages of
   one large document spread over every worker.
2. `read_document_pages`: render and read the page, or the run of text-layer pages, store
   them, and, when the last page is stored, queue the extraction.
3. `extract_document`: run the extraction passes (processing.passes) over all the pages at
   once, store the encounters and records, and complete the document.

`process_file` runs the same stages inline, without a broker or a database, for
`manage.py process`.
"""

import logging
import tempfile
import time
from pathlib import Path

from django.conf import settings

from documents.models import Document, Page
from processing import leases, services, textlayer, validation
from processing.errors import PermanentError
from processing.passes import run_passes
from processing.reader import ReadOptions, read_page, read_text_pages
from processing.rendering import PDF
from processing.results import document_json, page_json

logger = logging.getLogger(__name__)


def start_document(document_id: str) -> list[int]:
    """Stage 1: returns the page numbers to read (empty when there is nothing to do)."""
    document = services.begin(document_id)
    if document is None:
        return []
    checked = validation.check_file(Path(document.file.path), document.mime_type, document.readable_copy_path)
    ocr_mode = ReadOptions.from_settings(document.ocr_mode).ocr_mode
    text_pages: set[int] = set()
    if checked.mime_type == PDF and ocr_mode == Document.OcrMode.OFF:
        text_pages = set(range(1, checked.page_count + 1))  # never OCR'd: all read alike
    elif checked.mime_type == PDF and ocr_mode == Document.OcrMode.AUTO:
        text_pages = textlayer.pages_with_real_text(checked.path, timeout=settings.EXORA_PAGE_TIMEOUT)
    return services.plan_pages(document, checked.page_count, text_pages)


def read_document_pages(document_id: str, first: int, count: int = 1) -> bool:
    """Stage 2: claim pages `first` to `first + count - 1`, read and store them; False when
    there was nothing to do. More than one page is a run of text-layer pages.

    A page is read by one worker at a time: already read, or being read elsewhere, it is left.
    """
    document = Document.objects.filter(id=document_id).first()
    if document is None or document.is_finished:
        return False
    with leases.holding(document_id, range(first, first + count)) as claimed:
        if not claimed:
            return False
        options = ReadOptions.from_settings(document.ocr_mode)
        path, mime_type = document.source_path, document.mime_type
        with tempfile.TemporaryDirectory(prefix=f"exora-{first}-") as workdir:
            if count == 1:
                read = [read_page(path, mime_type, first, Path(workdir), options)]
            else:
                read = read_text_pages(path, min(claimed), max(claimed), Path(workdir), options)
            if services.store_pages(
                document_id, [(result, image) for result, image in read if result.number in claimed]
            ):
                logger.info("document %s read (%s pages); extracting", document_id, document.page_count)
    return True


def extract_document(document_id: str) -> bool:
    """Stage 3: the passes over every page read; False when the document is not extracting.

    Pure over the stored pages, so a repeated or retried run recomputes the same result.
    """
    document = Document.objects.filter(id=document_id).first()
    if document is None or document.status != Document.Status.EXTRACTING:
        return False
    started = time.perf_counter()
    pages = list(document.pages.filter(status=Page.Status.DONE).order_by("number"))
    extraction = run_passes(pages, date_order=settings.EXORA_DATE_ORDER)
    completed = services.complete_extraction(document_id, extraction)
    if completed:
        logger.info("document %s completed: extraction took %.2f s", document_id, time.perf_counter() - started)
    return completed


def process_file(path: Path, mime_type: str, ocr_mode: str | None = None) -> dict:
    """Run every stage on a local file in this process; return the result JSON."""
    started = time.perf_counter()
    options = ReadOptions.from_settings(ocr_mode)
    pages: list[dict] = []
    stage_totals: dict[str, float] = {}
    try:
        with tempfile.TemporaryDirectory(prefix="exora-") as scratch:
            checked = validation.check_file(path, mime_type, Path(scratch) / "readable.pdf")
            for number in range(1, checked.page_count + 1):
                with tempfile.TemporaryDirectory(prefix=f"exora-{number}-") as workdir:
                    result, _display = read_page(checked.path, mime_type, number, Path(workdir), options)
                pages.append(page_json(result.number, result.source, result.text, result.mean_confidence, result.words))
                for stage, seconds in result.timings.items():
                    stage_totals[stage] = stage_totals.get(stage, 0.0) + seconds
    except PermanentError as exc:
        return document_json(file=str(path), status="failed", error=exc.user_message, pages=pages, timings={})
    timings = {
        "conversion": round(stage_totals.get("render", 0.0), 3),
        "text_layer": round(stage_totals.get("text_layer", 0.0), 3),
        "ocr": round(stage_totals.get("ocr", 0.0), 3),
        "total": round(time.perf_counter() - started, 3),
    }
    return document_json(file=str(path), status="completed", error="", pages=pages, timings=timings)
