"""The stages a document goes through, top to bottom.

1. `start_document`: count the pages, create a row per page and send one message per page,
   so that the pages of one large document spread over every worker.
2. `read_document_page`: render and read one page, store it, and, when it was the last page,
   queue the extraction.
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
from processing import leases, services, validation
from processing.errors import PermanentError
from processing.passes import run_passes
from processing.reader import ReadOptions, read_page
from processing.results import document_json, page_json

logger = logging.getLogger(__name__)


def start_document(document_id: str) -> list[int]:
    """Stage 1: returns the page numbers to read (empty when there is nothing to do)."""
    document = services.begin(document_id)
    if document is None:
        return []
    checked = validation.check_file(Path(document.file.path), document.mime_type, document.readable_copy_path)
    return services.plan_pages(document, checked.page_count)


def read_document_page(document_id: str, number: int) -> bool:
    """Stage 2: claim one page, read it and store it; False when there was nothing to do.

    A page is read by one worker at a time: already read, or being read elsewhere, it is left.
    """
    document = Document.objects.filter(id=document_id).first()
    if document is None or document.is_finished:
        return False
    with leases.holding(document_id, number) as claimed:
        if not claimed:
            return False
        options = ReadOptions.from_settings(document.ocr_mode)
        with tempfile.TemporaryDirectory(prefix=f"exora-{number}-") as workdir:
            result, display = read_page(document.source_path, document.mime_type, number, Path(workdir), options)
            if services.store_page(document_id, result, display):
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
