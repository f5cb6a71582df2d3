"""Reads about processing: what a document's owner can do next."""

from documents.models import Document
from processing.errors import PermanentError
from processing.models import Attempt
from processing.services import RETRYABLE

CANCEL = "cancel"
RETRY = "retry"
UPLOAD_READABLE_COPY = "upload"


def next_step(document: Document) -> str:
    """What the owner can do now: CANCEL, RETRY, UPLOAD_READABLE_COPY, or "" (nothing to do).

    A document that failed on the file itself fails again if retried, so its owner is asked
    for a readable copy instead.
    """
    if not document.is_finished:
        return CANCEL
    if document.status == Document.Status.FAILED and _last_failure_class(document) == PermanentError.__name__:
        return UPLOAD_READABLE_COPY
    if document.status in RETRYABLE:
        return RETRY
    return ""


def _last_failure_class(document: Document) -> str | None:
    return (
        Attempt.objects.filter(job__document=document, outcome=Attempt.Outcome.FAILED)
        .order_by("-started_at", "-id")
        .values_list("error_class", flat=True)
        .first()
    )
