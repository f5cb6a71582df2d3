"""Reads for documents. Every read is scoped to its owner: other people's documents do not exist."""

from uuid import UUID

from django.conf import settings
from django.contrib.auth.models import User
from django.db.models import QuerySet
from django.http import Http404
from django.shortcuts import get_object_or_404

from documents.lifecycle import RETRYABLE
from documents.models import Document
from processing import api as processing
from processing.api import Page

CANCEL = "cancel"
RETRY = "retry"
UPLOAD_READABLE_COPY = "upload"


def expected_wait() -> tuple[int | None, str]:
    """About how many seconds a document uploaded now waits before it starts (None: no worker
    is alive to tell), and what to tell its owner when that is long (the service is busy)."""
    wait = processing.newcomer_wait_seconds()
    if wait is None or wait <= settings.EXORA_BUSY_WAIT_SECONDS:
        return (round(wait) if wait is not None else None), ""
    minutes = max(round(wait / 60), 1)
    return round(wait), f"Many documents are waiting: this one should start in about {minutes} minutes."


def documents_of(user: User) -> QuerySet[Document]:
    return Document.objects.filter(owner=user)


def document_of(user: User, document_id: object) -> Document:
    """The user's document, or 404 whether it belongs to someone else or does not exist."""
    return get_object_or_404(documents_of(user), id=document_id)


def names_of(user: User, document_ids: set[UUID]) -> dict[UUID, str]:
    """The names of those of `document_ids` that are the user's and still exist."""
    return dict(documents_of(user).filter(id__in=document_ids).values_list("id", "original_name"))


def pages_of(document: Document) -> QuerySet[Page]:
    return processing.pages_of_document(str(document.id))


def page_of(user: User, document_id: object, number: int) -> Page:
    document = document_of(user, document_id)
    page = processing.page_of_document(str(document.id), number)
    if page is None:
        raise Http404("No such page.")
    page.document = document  # already loaded: `page.document` needs no query of its own
    return page


def document_result(document: Document) -> processing.ReadDocumentJson:
    """The document as `manage.py process --json` prints it: status, pages, words, timings,
    and the encounters and records the extraction found (empty until it ran)."""
    pages = [
        processing.page_json(p.number, p.source, p.text, p.mean_confidence, p.words)
        for p in processing.pages_read(str(document.id))
    ]
    result = processing.document_json(
        file=document.original_name,
        status=document.status,
        error=document.error,
        pages=pages,
        timings=document.timings,
    )
    return processing.read_document_json(result, document.extraction)


def document_text(document: Document) -> str:
    parts = [f"--- page {p.number} ---\n{p.text}" for p in processing.pages_read(str(document.id))]
    return "\n\n".join(parts) + "\n"


def next_step(document: Document) -> str:
    """What the owner can do now: CANCEL, RETRY, UPLOAD_READABLE_COPY, or "" (nothing to do).

    A document that failed on the file itself fails again if retried, so its owner is asked
    for a readable copy instead.
    """
    if not document.is_finished:
        return CANCEL
    if document.status == Document.Status.FAILED and processing.last_failure_was_permanent(str(document.id)):
        return UPLOAD_READABLE_COPY
    if document.status in RETRYABLE:
        return RETRY
    return ""
