"""Every change of a document's status: the only module that writes one, and the only module of
this app that processing imports.

    (upload) ─ create ─► queued ─ begin ─► converting ─ reading ─► reading ─ pages_read ─►
        extracting ─ complete ─► completed
    any unfinished ─ fail ─► failed        any unfinished ─ cancel ─► cancelled (owner, staff)
    failed, cancelled ─ retry ─► queued
    any ─ delete ─► (gone, with every file: documents.deletion)

Each function names its transition (`document_<verb>`), runs in the caller's transaction (its
own when there is none), locks the row where two processes may race, keeps the document's
job in step (processing.api), and says after commit what follows from it: the owner's
sockets hear of it (documents.events), a queued run gets its ETA recorded, a finished one
its e-mail (documents.notifications). Publishing itself only publishes.
"""

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from django.conf import settings
from django.contrib.auth.models import AnonymousUser, User
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from documents import events, notifications
from documents.models import Document
from exora.coalescing import Coalescer
from processing import api as processing

logger = logging.getLogger(__name__)

RETRYABLE = (Document.Status.FAILED, Document.Status.CANCELLED)


class StatusConflict(Exception):
    """The document's status does not allow the change asked for; the message says why."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class DocumentSource:
    """What a worker needs to know of a document to read it."""

    id: str
    original_name: str  # in the storage
    readable_name: str  # its repaired or decrypted copy, "" when it needs none
    sha256: str  # of the original
    readable_sha256: str  # of the copy ("" when unknown)
    mime_type: str
    extension: str
    ocr_mode: str
    page_count: int | None

    @property
    def name_to_read(self) -> str:
        """The file to read: the readable copy if there is one, else the original."""
        return self.readable_name or self.original_name

    @property
    def sha256_to_read(self) -> str:
        """The sha256 of `name_to_read` ("" when unknown): processing.files caches by it."""
        return self.readable_sha256 if self.readable_name else self.sha256


def _source(document: Document) -> DocumentSource:
    return DocumentSource(
        id=str(document.id),
        original_name=document.file.name or "",
        readable_name=document.readable_file.name or "",
        sha256=document.sha256,
        readable_sha256=document.readable_sha256,
        mime_type=document.mime_type,
        extension=document.extension,
        ocr_mode=document.ocr_mode,
        page_count=document.page_count,
    )


# --- Reads the workers need ------------------------------------------------------------------


def source_of(document_id: str) -> DocumentSource | None:
    """The document to read, or None when it is finished or gone (nothing to do)."""
    document = Document.objects.filter(id=document_id).first()
    return None if document is None or document.is_finished else _source(document)


def is_extracting(document_id: str) -> bool:
    return Document.objects.filter(id=document_id, status=Document.Status.EXTRACTING).exists()


def documents_reading(started_before: datetime) -> list[str]:
    ids = Document.objects.filter(status=Document.Status.READING, started_at__lt=started_before)
    return [str(i) for i in ids.values_list("id", flat=True)]


def documents_waiting(created_before: datetime) -> dict[str, str]:
    """Documents waiting for a message of the documents queue, by what they wait for:
    "start" (queued or converting) or "extract"."""
    waiting = Document.objects.filter(
        status__in=(Document.Status.QUEUED, Document.Status.CONVERTING, Document.Status.EXTRACTING),
        created_at__lt=created_before,
    ).values_list("id", "status")
    return {str(i): ("extract" if status == Document.Status.EXTRACTING else "start") for i, status in waiting}


# --- A document's way through processing --------------------------------------------------------


def document_create(document: Document, *, owner_waiting: int | None = None) -> Document:
    """A checked upload becomes a queued document with its job (in its lane). `owner_waiting`:
    the owner's documents not finished, when the caller has just counted them."""
    with transaction.atomic():
        document.save()
        processing.job_create(str(document.id), document.owner, document.page_count, owner_waiting)
        transaction.on_commit(lambda: announce_queued(str(document.id)))
    return document


def document_begin(document_id: str) -> DocumentSource | None:
    """A worker starts the document: queued → converting. None when it is finished or gone."""
    with transaction.atomic():
        document = Document.objects.select_for_update().filter(id=document_id).first()
        if document is None or document.is_finished:
            return None
        if document.status == Document.Status.QUEUED:
            document.status = Document.Status.CONVERTING
            document.started_at = timezone.now()
            document.save(update_fields=["status", "started_at"])
            processing.job_start(document_id)
            transaction.on_commit(lambda: events.document_changed(document_id))
    return _source(document)


def document_readable_copy_made(document_id: str, storage_name: str, sha256: str) -> None:
    """A worker repaired the file (it checks it again before reading): later pages, on any
    host, read the copy."""
    Document.objects.filter(id=document_id).update(readable_file=storage_name, readable_sha256=sha256)


def document_reading(document_id: str, page_count: int) -> None:
    """Its pages are planned: converting → reading."""
    Document.objects.filter(id=document_id, status=Document.Status.CONVERTING).update(
        status=Document.Status.READING, page_count=page_count
    )
    transaction.on_commit(lambda: events.document_changed(document_id))


def document_lock_unfinished(document_id: str) -> bool:
    """Lock the document for the rest of the transaction; False when it is finished or gone.

    Storing pages and completing take this lock, as cancelling does, so a page read while its
    document was cancelled is dropped: it neither counts nor completes the document."""
    document = Document.objects.select_for_update().filter(id=document_id).only("status").first()
    return document is not None and not document.is_finished


def document_pages_read(document_id: str, count: int) -> bool:
    """`count` more pages are stored (0: check again); when every page is, reading →
    extracting. True when this call moved it on: the caller queues the extraction after commit."""
    if count:
        Document.objects.filter(id=document_id).update(pages_done=F("pages_done") + count)
        transaction.on_commit(lambda: events.document_changed(document_id))
    # The passes need all the pages at once (an encounter spans pages), so they run as one
    # more stage once the last page is stored, once: the count lives in the database.
    return bool(
        Document.objects.filter(id=document_id, pages_done=F("page_count"))
        .exclude(status__in=(*Document.FINISHED, Document.Status.EXTRACTING))
        .update(status=Document.Status.EXTRACTING)
    )


def document_complete(document_id: str, extraction: Mapping[str, Any]) -> bool:
    """The passes ran: extracting → completed, with what they found. False when it is no
    longer extracting (finished, cancelled or gone): nothing is written then."""
    with transaction.atomic():
        document = Document.objects.select_for_update().filter(id=document_id).first()
        if document is None or document.status != Document.Status.EXTRACTING:
            return False
        document.extraction = extraction
        document.status = Document.Status.COMPLETED
        _finish(document)
        transaction.on_commit(lambda: announce_finished(document_id, queue=False))
    return True


def document_fail(document_id: str, message: str) -> bool:
    """An unfinished document fails, with a reason its owner can read; False if already finished."""
    now = timezone.now()
    with transaction.atomic():
        failed = (
            Document.objects.filter(id=document_id)
            .exclude(status__in=Document.FINISHED)
            .update(status=Document.Status.FAILED, error=message, finished_at=now)
        )
        if failed:
            processing.job_fail(document_id, message, now)
            _summarise_timings(Document.objects.get(id=document_id))
            transaction.on_commit(lambda: announce_finished(document_id, queue=True))
    return bool(failed)


def document_cancel(document_id: str | UUID, by_user: User | AnonymousUser) -> Document:
    """Stop a queued or running document, for its owner or staff.

    Messages still queued for it then do nothing, and a page being read is not stored. The
    pages already read are kept, so that a retry reads only the rest.
    """
    with transaction.atomic():
        document = _locked_for(document_id, by_user)
        if document.is_finished:
            raise StatusConflict(
                f"This document is already {document.get_status_display().lower()}; there is nothing to cancel."
            )
        document.status = Document.Status.CANCELLED
        _finish(document)
        transaction.on_commit(lambda: announce_finished(str(document_id), queue=True))
    document.refresh_from_db()
    return document


def document_retry(document_id: str | UUID, by_user: User | AnonymousUser | None = None) -> Document:
    """Queue a failed or cancelled document again; only its pages not read yet are read.

    `by_user`, when given, must be the owner or staff, as for `document_cancel`.
    """
    with transaction.atomic():
        document = _locked_for(document_id, by_user)
        if document.status not in RETRYABLE:
            raise StatusConflict(
                f"Only a failed or cancelled document can be retried; this one is "
                f"{document.get_status_display().lower()}."
            )
        document.status = Document.Status.QUEUED
        document.error = ""
        document.pages_done = processing.job_requeue(str(document.id))
        document.started_at = None
        document.finished_at = None
        document.timings = {}
        document.save(update_fields=["status", "error", "pages_done", "started_at", "finished_at", "timings"])
        transaction.on_commit(lambda: announce_queued(str(document.id)))
    return document


def document_delete(document_id: str | UUID, by_user: User | AnonymousUser | None = None) -> None:
    """Delete a document, its rows and (after commit) every file of it, for its owner or staff
    (`by_user` None: the system, e.g. retention).

    An unfinished one is stopped by its going: its queued messages find nothing to do, and a
    page being read is not stored (storing locks the document, as this does)."""
    with transaction.atomic():
        document = _locked_for(document_id, by_user)
        was_unfinished = not document.is_finished
        owner_id = document.owner_id
        document.delete()  # its job, attempts, pages and predictions go with it; files after commit
        transaction.on_commit(lambda: events.document_deleted(str(document_id), owner_id, queue=was_unfinished))


def document_change_lane(document_id: str | UUID, lane: str) -> str:
    """An operator moves a document's pages not yet sent to another lane; returns the lane it was in."""
    with transaction.atomic():
        previous = processing.job_change_lane(str(document_id), lane)
        transaction.on_commit(lambda: events.document_changed(str(document_id), queue=True))
    return previous


# --- What owners hear of, without a change of status ------------------------------------------


def document_first_page_started(document_id: str, enqueued_at: datetime) -> None:
    """A page attempt began: the first of a run takes the document out of the queue."""
    transaction.on_commit(lambda: events.first_page_started(document_id, enqueued_at))


def document_will_retry(document_id: str) -> None:
    """A stage failed and will be tried again: its owner sees "retrying after an error"."""
    transaction.on_commit(lambda: events.document_changed(document_id))


def documents_queue_moved() -> None:
    """Positions moved without a document changing: pages handed back, workers come or gone."""
    events.queue_changed()


# --- Helpers ---------------------------------------------------------------------------------------


def _locked_for(document_id: str | UUID, user: User | AnonymousUser | None) -> Document:
    """The document, locked; DoesNotExist unless `user` (when given) is its owner or staff.

    Other people's documents do not exist for a user, as in `documents.selectors`.
    """
    document = Document.objects.select_for_update().filter(id=document_id).first()
    if document is None or (user is not None and not (user.is_staff or document.owner_id == user.pk)):
        raise Document.DoesNotExist(f"No document {document_id} for {user}.")
    return document


def _finish(document: Document) -> None:
    document.finished_at = timezone.now()
    document.save(update_fields=["extraction", "status", "finished_at"])
    processing.job_finish(str(document.id), document.finished_at)
    _summarise_timings(document)


def _summarise_timings(document: Document) -> None:
    """Per-stage seconds for the whole document: waiting, converting, OCR and in all."""
    page_timings = processing.page_timings(str(document.id))

    def total(stage: str) -> float:
        return round(sum(float(t.get(stage, 0.0)) for t in page_timings), 3)

    summary = {"conversion": total("render"), "text_layer": total("text_layer"), "ocr": total("ocr")}
    if document.started_at:
        summary["wait"] = round((document.started_at - document.created_at).total_seconds(), 3)
    if document.finished_at:
        summary["total"] = round((document.finished_at - document.created_at).total_seconds(), 3)
    Document.objects.filter(id=document.id).update(timings=summary)


def announce_queued(document_id: str) -> None:
    """A run was queued: its owner sees where it stands, and the ETA they are told is kept to
    be measured against what happens. Announced with the others queued within
    EXORA_EVENTS_COALESCE_SECONDS: the queue is computed once for all of them."""
    _queued_announcements.add(document_id)


def _announce_queued_now(document_ids: set[str]) -> None:
    try:
        states = processing.queue_states()
        for document_id in document_ids:
            notifications.record_prediction(states.get(document_id))
    except Exception:
        logger.exception("could not record the predictions of %d queued documents", len(document_ids))
        states = None
    others_moved = states is None or _went_ahead_of_others(document_ids, states)
    events.documents_changed(sorted(document_ids), queue=others_moved, states=states)


def _went_ahead_of_others(queued: set[str], states: dict[str, processing.QueueState]) -> bool:
    """Whether a document just queued went ahead of one already waiting: only then did anyone
    else's place or ETA move. Within a lane the order is the order of arrival, so only a lane
    served before another's passes it (a priority upload). Uploads joining the end of their
    lane, the usual case, move nobody, so only their owners are told, and a burst of them does
    not send the whole queue to everyone."""
    served_at = {lane.name: rank for rank, lane in enumerate(processing.LANES)}
    waiting = [s for s in states.values() if s.position is not None]
    mine = [served_at[s.lane] for s in waiting if s.document_id in queued]
    others = [served_at[s.lane] for s in waiting if s.document_id not in queued]
    return bool(mine and others) and min(mine) < max(others)


_queued_announcements = Coalescer(settings.EXORA_EVENTS_COALESCE_SECONDS, _announce_queued_now)


def announce_finished(document_id: str, *, queue: bool) -> None:
    """A document finished: its run's prediction is completed, its owner e-mailed (once), and
    its sockets told; with `queue`, everyone behind it too."""
    try:
        document = Document.objects.select_related("owner").get(id=document_id)
        notifications.document_finished(document, processing.current_run(document_id))
    except Exception:
        logger.exception("could not complete the notices of finished document %s", document_id)
    events.document_changed(document_id, queue=queue)
