"""Writes that move a document through processing. Each is safe to run twice."""

import os
import shutil
import uuid
from pathlib import Path
from uuid import UUID

from django.conf import settings
from django.contrib.auth.models import AbstractUser
from django.core.files.storage import default_storage
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from documents import events
from documents.models import Document, Page
from processing import dispatch, leases
from processing.models import Attempt, Job
from processing.results import PageResult

RETRYABLE = (Document.Status.FAILED, Document.Status.CANCELLED)


class StatusConflict(Exception):
    """The document's status does not allow the change asked for; the message says why."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def create_job(document: Document) -> Job:
    """Create the document's job in its lane and queue its first stage once the transaction commits."""
    job = Job.objects.create(document=document, lane=choose_lane(document), enqueued_at=timezone.now())
    _start_after_commit(document.id)
    return job


def change_lane(document_id: str | UUID, lane: str) -> str:
    """Put a document's pages not yet sent in another lane (an operator's decision); returns
    the lane it was in. Pages already queued stay where they are: at most a window of them."""
    job = Job.objects.get(document_id=document_id)
    previous, job.lane = job.lane, lane
    job.save(update_fields=["lane"])
    transaction.on_commit(lambda: events.document_changed(str(document_id), queue=True))
    return previous


def choose_lane(document: Document) -> str:
    """Priority for the paid tier; bulk for very large documents and for many at once."""
    if document.owner.groups.filter(name=settings.EXORA_PRIORITY_GROUP).exists():
        return Job.Lane.PRIORITY
    if (document.page_count or 0) > settings.EXORA_BULK_PAGES:
        return Job.Lane.BULK
    waiting = Document.objects.filter(owner=document.owner).exclude(status__in=Document.FINISHED).count()
    if waiting >= settings.EXORA_BULK_DOCUMENTS:
        return Job.Lane.BULK
    return Job.Lane.STANDARD


def _start_after_commit(document_id: str | UUID) -> None:
    # After commit, so that the worker never looks for a document it cannot see yet.
    transaction.on_commit(lambda: dispatch.send_start(str(document_id)))


def begin(document_id: str) -> Document | None:
    """Mark a document as converting; None when it is finished or gone (nothing to do)."""
    now = timezone.now()
    with transaction.atomic():
        document = Document.objects.select_for_update().filter(id=document_id).first()
        if document is None or document.is_finished:
            return None
        if document.status == Document.Status.QUEUED:
            document.status = Document.Status.CONVERTING
            document.started_at = now
            document.save(update_fields=["status", "started_at"])
            Job.objects.filter(document=document).update(started_at=now)
            transaction.on_commit(lambda: events.document_changed(document_id))
    return document


def plan_pages(document: Document, page_count: int, text_pages: set[int]) -> list[int]:
    """Create a row per page, noting those read from their text layer; return the numbers of
    the pages still to read."""
    Page.objects.bulk_create(
        (Page(document=document, number=n, reads_text_layer=n in text_pages) for n in range(1, page_count + 1)),
        ignore_conflicts=True,
        batch_size=500,
    )
    Document.objects.filter(id=document.id, status=Document.Status.CONVERTING).update(
        status=Document.Status.READING, page_count=page_count
    )
    # Pages are sent a window at a time from here on (dispatch.send_next_pages): any earlier
    # sending, before a retry or a repeated start, no longer counts.
    Page.objects.filter(document=document, status=Page.Status.PENDING).update(message_id="")
    transaction.on_commit(lambda: events.document_changed(document.id))
    to_read = list(
        Page.objects.filter(document=document).exclude(status=Page.Status.DONE).values_list("number", flat=True)
    )
    if not to_read:
        # A retried document whose pages were all read already: no page will come to finish reading.
        with transaction.atomic():
            _extract_if_all_read(document.id)
    return to_read


def store_pages(document_id: str, read: list[tuple[PageResult, Path]]) -> bool:
    """Store pages that were read (each with its display image), each once; when the last
    page is among them, the document goes on to `extracting` and its extraction is queued
    (`complete_extraction` completes it).

    Returns True when this call stored the last page. The page count lives in the
    database, so two deliveries of the same page, even at once, count it once.
    """
    staged = [_stage_image(document_id, result.number, display) for result, display in read]
    try:
        return _store_page_rows(document_id, [result for result, _ in read], staged)
    finally:
        for _, part in staged:
            part.unlink(missing_ok=True)


def _stage_image(document_id: str, number: int, display_image: Path) -> tuple[str, Path]:
    # The image is staged beside its place and moved there only by the call that stores the
    # page, so a repeated delivery never touches the image of a page already stored.
    image_name = f"documents/{document_id}/pages/{number:05d}.jpg"
    image_path = Path(default_storage.path(image_name))
    image_path.parent.mkdir(parents=True, exist_ok=True)
    part = image_path.with_name(f"{image_path.name}.{uuid.uuid4().hex}.part")
    shutil.copyfile(display_image, part)
    return image_name, part


def _store_page_rows(document_id: str, results: list[PageResult], staged: list[tuple[str, Path]]) -> bool:
    now = timezone.now()
    with transaction.atomic():
        # The lock orders this against cancel: a page read while its document was cancelled
        # is dropped here, so it neither counts nor completes the document.
        document = Document.objects.select_for_update().filter(id=document_id).first()
        if document is None or document.is_finished:
            for result in results:
                leases.release(document_id, result.number)
            return False
        stored = 0
        for result, (image_name, part) in zip(results, staged, strict=True):
            if _store_page_row(document_id, result, image_name, now):
                os.replace(part, Path(default_storage.path(image_name)))
                stored += 1
        if not stored:
            return False
        Document.objects.filter(id=document_id).update(pages_done=F("pages_done") + stored)
        transaction.on_commit(lambda: events.document_changed(document_id))
        return _extract_if_all_read(document_id)


def _store_page_row(document_id: str, result: PageResult, image_name: str, now) -> bool:
    return bool(
        Page.objects.filter(document_id=document_id, number=result.number)
        .exclude(status=Page.Status.DONE)
        .update(
            status=Page.Status.DONE,
            source=result.source,
            text=result.text,
            words=[w.__dict__ for w in result.words],
            mean_confidence=result.mean_confidence,
            width=result.width,
            height=result.height,
            image=image_name,
            timings=result.timings,
            done_at=now,
        )
    )


def _extract_if_all_read(document_id) -> bool:
    """Once every page is stored, hand the document to the extraction stage, once.

    The passes need all the pages at once (an encounter spans pages), so they run as one
    more stage of the job rather than per page.
    """
    moved = (
        Document.objects.filter(id=document_id, pages_done=F("page_count"))
        .exclude(status__in=(*Document.FINISHED, Document.Status.EXTRACTING))
        .update(status=Document.Status.EXTRACTING)
    )
    if moved:
        # After commit, so that the worker sees the document extracting with all its pages.
        transaction.on_commit(lambda: dispatch.send_extract(str(document_id)))
    return bool(moved)


def complete_extraction(document_id: str, extraction: dict) -> bool:
    """Store what the passes found and complete the document; False when it is no longer
    extracting (finished, cancelled or gone), in which case nothing is written.

    A repeated run while still extracting simply overwrites: the passes are pure.
    """
    now = timezone.now()
    with transaction.atomic():
        # The lock orders this against cancel, as in _store_page_row.
        document = Document.objects.select_for_update().filter(id=document_id).first()
        if document is None or document.status != Document.Status.EXTRACTING:
            return False
        document.extraction = extraction
        document.status = Document.Status.COMPLETED
        document.finished_at = now
        document.save(update_fields=["extraction", "status", "finished_at"])
        _finish_job(document_id, now)
        transaction.on_commit(lambda: events.document_changed(document_id))
    return True


def fail(document_id: str, message: str) -> bool:
    """Fail an unfinished document with a reason its owner can read; False if already finished."""
    now = timezone.now()
    with transaction.atomic():
        failed = (
            Document.objects.filter(id=document_id)
            .exclude(status__in=Document.FINISHED)
            .update(status=Document.Status.FAILED, error=message, finished_at=now)
        )
        if failed:
            Job.objects.filter(document_id=document_id).update(last_error=message)
            _finish_job(document_id, now)
            transaction.on_commit(lambda: events.document_changed(document_id, queue=True))
    return bool(failed)


def cancel(document_id: str | UUID, by_user: AbstractUser) -> Document:
    """Stop a queued or running document, for its owner or staff.

    Messages still queued for it then do nothing, and a page being read is not stored. The
    pages already read are kept, so that a retry reads only the rest.
    """
    now = timezone.now()
    with transaction.atomic():
        document = _locked_for(document_id, by_user)
        if document.is_finished:
            raise StatusConflict(
                f"This document is already {document.get_status_display().lower()}; there is nothing to cancel."
            )
        document.status = Document.Status.CANCELLED
        document.finished_at = now
        document.save(update_fields=["status", "finished_at"])
        _finish_job(document_id, now)
        transaction.on_commit(lambda: events.document_changed(document_id, queue=True))
    document.refresh_from_db()
    return document


def retry(document_id: str | UUID, by_user: AbstractUser | None = None) -> Document:
    """Queue a failed or cancelled document again; only its pages not read yet are read.

    `by_user`, when given, must be the owner or staff, as for `cancel`.
    """
    now = timezone.now()
    with transaction.atomic():
        document = _locked_for(document_id, by_user)
        if document.status not in RETRYABLE:
            raise StatusConflict(
                f"Only a failed or cancelled document can be retried; this one is "
                f"{document.get_status_display().lower()}."
            )
        document.status = Document.Status.QUEUED
        document.error = ""
        document.pages_done = document.pages.filter(status=Page.Status.DONE).count()
        # A page still claimed by the stopped run would never be claimed again.
        document.pages.exclude(status=Page.Status.DONE).update(
            status=Page.Status.PENDING, lease_owner="", lease_expires_at=None
        )
        document.started_at = None
        document.finished_at = None
        document.timings = {}
        document.save(update_fields=["status", "error", "pages_done", "started_at", "finished_at", "timings"])
        Job.objects.filter(document=document).update(enqueued_at=now, started_at=None, finished_at=None)
        _start_after_commit(document.id)
        transaction.on_commit(lambda: events.document_changed(document.id, queue=True))
    return document


def _locked_for(document_id: str | UUID, user: AbstractUser | None) -> Document:
    """The document, locked; DoesNotExist unless `user` (when given) is its owner or staff.

    Other people's documents do not exist for a user, as in `documents.selectors`.
    """
    document = Document.objects.select_for_update().filter(id=document_id).first()
    if document is None or (user is not None and not (user.is_staff or document.owner_id == user.pk)):
        raise Document.DoesNotExist(f"No document {document_id} for {user}.")
    return document


def record_attempt_start(document_id: str, stage: str, page_number: int | None = None) -> Attempt | None:
    """Note that this worker process starts a run of `stage`; None when the document is gone."""
    job = Job.objects.filter(document_id=document_id).values("id", "enqueued_at").first()
    if job is None:
        return None
    job_id = job["id"]
    if stage == Attempt.Stage.PAGE:  # the first page takes the document out of the queue
        transaction.on_commit(lambda: events.page_started(document_id, job["enqueued_at"]))
    return Attempt.objects.create(
        job_id=job_id,
        stage=stage,
        page_number=page_number,
        worker=leases.worker_id(),
        started_at=timezone.now(),
    )


def record_attempt_end(attempt: Attempt | None, outcome: str, error: BaseException | None = None) -> None:
    """Note how a run ended and, when it raised, with what."""
    if attempt is None:
        return
    attempt.finished_at = timezone.now()
    attempt.outcome = outcome
    if error is not None:
        attempt.error_class = type(error).__name__
        attempt.message = str(error)
    attempt.save(update_fields=["finished_at", "outcome", "error_class", "message"])
    if outcome == Attempt.Outcome.RETRYING:
        transaction.on_commit(lambda: events.document_changed(attempt.job.document_id))


def _finish_job(document_id: str, now) -> None:
    Job.objects.filter(document_id=document_id).update(finished_at=now)
    document = Document.objects.get(id=document_id)
    page_timings = Page.objects.filter(document_id=document_id).values_list("timings", flat=True)
    document.timings = summarise_timings(document, list(page_timings))
    document.save(update_fields=["timings"])


def summarise_timings(document: Document, page_timings: list[dict]) -> dict[str, float]:
    """Per-stage seconds for the whole document: waiting, converting, OCR and in all."""

    def total(stage: str) -> float:
        return round(sum(t.get(stage, 0.0) for t in page_timings), 3)

    summary = {"conversion": total("render"), "text_layer": total("text_layer"), "ocr": total("ocr")}
    if document.started_at:
        summary["wait"] = round((document.started_at - document.created_at).total_seconds(), 3)
    if document.finished_at:
        summary["total"] = round((document.finished_at - document.created_at).total_seconds(), 3)
    return summary
