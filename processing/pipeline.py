"""The steps a document goes through, top to bottom. Each is one broker message (actors.py) and
keeps the contract written in steps.py.

1. StartDocument   check the file, plan a row per page (noting the pages whose own text stands
                   in for OCR), and send the first window of page messages.
2. ReadPages       claim a page, or a run of text-layer pages, read it with the engine, store
                   it once; send the document's next page; after the last page, queue step 3.
3. ExtractRecords  the passes over every page read (an encounter spans pages), stored with the
                   document, which completes.

Every change of the document's status goes through documents.lifecycle; the pages, leases and
messages are processing's own (pages.py, leases.py, dispatch.py); the reading itself is the
engine's (engine/), which knows no Django.
"""

import logging
import shutil
import tempfile
import time
from pathlib import Path

from django.conf import settings
from django.db import transaction

from documents import lifecycle
from processing import dispatch, files, leases, options, pages, selectors
from processing.engine import textlayer, validation
from processing.engine.passes import run_passes
from processing.engine.reader import read_page, read_text_pages
from processing.engine.rendering import PDF
from processing.engine.results import PageResult
from processing.models import Attempt
from processing.steps import Step

logger = logging.getLogger(__name__)


class StartDocument(Step):
    stage = Attempt.Stage.START
    needs = "a queued (or converting) document whose file is stored"
    produces = (
        "the document reading, with a row per page, the pages with a real text layer noted; "
        "the first EXORA_DOCUMENT_WINDOW page messages sent (or the extraction, when a retried "
        "document has every page read already)"
    )
    cleans_up = "its scratch folder (a repaired copy it made is kept in the storage, for the pages)"

    def __init__(self, document_id: str) -> None:
        super().__init__(document_id)
        self.to_read: list[int] = []  # the pages planned and not read yet
        self.scratch: Path | None = None

    def run(self) -> bool:
        document = lifecycle.document_begin(self.document_id)
        if document is None:
            return False
        self.scratch = Path(tempfile.mkdtemp(prefix="exora-start-"))
        source = files.cached_source(document.name_to_read, document.sha256_to_read, self.scratch)
        repaired = self.scratch / f"readable{document.extension}"
        checked = validation.check_file_in_box(
            source,
            document.mime_type,
            repaired,
            options.file_limits(),
            options.tool_limits(),
            settings.EXORA_PAGE_TIMEOUT,
        )
        if checked.path == repaired:  # the upload was not repaired, but the file needs it
            stored, sha256 = files.store_readable_copy(self.document_id, repaired, document.extension)
            lifecycle.document_readable_copy_made(self.document_id, stored, sha256)
        text_pages = _pages_read_from_text_layer(checked, options.read_options(document.ocr_mode).ocr_mode)
        with transaction.atomic():
            self.to_read = pages.pages_plan(self.document_id, checked.page_count, text_pages)
            lifecycle.document_reading(self.document_id, checked.page_count)
            if not self.to_read and lifecycle.document_pages_read(self.document_id, 0):
                # A retried document whose pages were all read already goes straight on.
                transaction.on_commit(lambda: dispatch.send_extract(self.document_id))
        dispatch.send_next_pages(self.document_id, settings.EXORA_DOCUMENT_WINDOW)
        return bool(self.to_read)

    def cleanup(self) -> None:
        if self.scratch is not None:
            shutil.rmtree(self.scratch, ignore_errors=True)


def _pages_read_from_text_layer(checked: validation.CheckedFile, ocr_mode: str) -> set[int]:
    """The pages read several to a message, from their own text (engine.textlayer)."""
    if checked.mime_type != PDF:
        return set()
    if ocr_mode == "off":
        return set(range(1, checked.page_count + 1))  # never OCR'd: all read alike
    if ocr_mode == "auto":
        return textlayer.pages_with_real_text(
            checked.path, checked.page_count, timeout=settings.EXORA_PAGE_TIMEOUT, limits=options.tool_limits()
        )
    return set()


class ReadPages(Step):
    stage = Attempt.Stage.PAGE
    needs = "the document reading, and its pages `first` to `first + count - 1` planned and not read"
    produces = (
        "each page's text, words, boxes and display image, stored once; the document's next page "
        "message (its window stays full); after its last page, the extraction queued"
    )
    cleans_up = "the scratch folder of the run"

    def __init__(self, document_id: str, first: int, count: int = 1) -> None:
        super().__init__(document_id)
        self.first, self.count = first, count
        self.scratch: Path | None = None

    @property
    def page_number(self) -> int:
        return self.first

    def run(self) -> bool:
        document = lifecycle.source_of(self.document_id)
        if document is None:
            return False
        # A page is read by one worker at a time: one already read, or held by another worker,
        # is left alone; on an error the claim is given back for the retry to take.
        with leases.holding(self.document_id, range(self.first, self.first + self.count)) as claimed:
            if not claimed:
                return False
            self.scratch = Path(tempfile.mkdtemp(prefix=f"exora-{self.first}-"))
            read_options = options.read_options(document.ocr_mode)
            source = files.cached_source(document.name_to_read, document.sha256_to_read, self.scratch)
            if self.count == 1:
                read = [read_page(source, document.mime_type, self.first, self.scratch, read_options)]
            else:
                read = read_text_pages(source, min(claimed), max(claimed), self.scratch, read_options)
            store_pages(self.document_id, [(result, image) for result, image in read if result.number in claimed])
        dispatch.send_next_pages(self.document_id, 1)
        return True

    def cleanup(self) -> None:
        if self.scratch is not None:
            shutil.rmtree(self.scratch, ignore_errors=True)


def store_pages(document_id: str, read: list[tuple[PageResult, Path]]) -> bool:
    """Store pages that were read (each with its display image), each once; True when this call
    stored the last page, and so queued the extraction.

    The document is locked first, as cancelling locks it: pages read while it was cancelled
    are dropped (and their claims given back), so they neither count nor complete it.
    """
    staged = pages.stage_images(document_id, read)
    kept: list[str] = []
    try:
        with transaction.atomic():
            if not lifecycle.document_lock_unfinished(document_id):
                for result, _ in read:
                    leases.release(document_id, result.number)
                return False
            kept = pages.pages_store(document_id, [result for result, _ in read], staged)
            if not (kept and lifecycle.document_pages_read(document_id, len(kept))):
                return False
            logger.info("document %s read; extracting", document_id)
            transaction.on_commit(lambda: dispatch.send_extract(document_id))
            return True
    except BaseException:
        kept = []  # rolled back: no row names them
        raise
    finally:
        pages.unstage([name for name in staged if name not in kept])


class ExtractRecords(Step):
    stage = Attempt.Stage.EXTRACT
    needs = "the document extracting: every page read"
    produces = "the encounters and records of the whole document, stored with it; the document completed"

    def run(self) -> bool:
        # Pure over the stored pages, so a repeated or retried run computes the same result.
        if not lifecycle.is_extracting(self.document_id):
            return False
        started = time.perf_counter()
        page_rows = list(selectors.pages_read(self.document_id))
        extraction = run_passes(page_rows, date_order=settings.EXORA_DATE_ORDER)
        completed = lifecycle.document_complete(self.document_id, extraction)
        if completed:
            seconds = time.perf_counter() - started
            logger.info("document %s completed: extraction took %.2f s", self.document_id, seconds)
        return completed


STEPS = (StartDocument, ReadPages, ExtractRecords)
