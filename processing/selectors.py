"""Reads of processing's rows for the rest of the service (through processing.api)."""

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db.models import Count, Min, Q, QuerySet

from processing.engine.errors import PermanentError
from processing.models import Attempt, Job, Page


def pages_of_document(document_id: str) -> QuerySet[Page]:
    return Page.objects.filter(document_id=document_id).order_by("number")


def pages_read(document_id: str) -> QuerySet[Page]:
    return pages_of_document(document_id).filter(status=Page.Status.DONE)


def page_of_document(document_id: str, number: int) -> Page | None:
    return Page.objects.filter(document_id=document_id, number=number).first()


def page_image_names(document_id: str) -> set[str]:
    """The stored images the document's pages name (any other image of it is an orphan)."""
    names = Page.objects.filter(document_id=document_id).exclude(image="").values_list("image", flat=True)
    return set(names)


def page_timings(document_id: str) -> list[dict[str, Any]]:
    return list(Page.objects.filter(document_id=document_id).values_list("timings", flat=True))


def last_failure_was_permanent(document_id: str) -> bool:
    """Whether the attempt that failed the document failed on the file itself (retrying it
    would fail again)."""
    last = (
        Attempt.objects.filter(job__document_id=document_id, outcome=Attempt.Outcome.FAILED)
        .order_by("-started_at", "-id")
        .values_list("error_class", flat=True)
        .first()
    )
    return last == PermanentError.__name__


@dataclass(frozen=True)
class Run:
    """The current run of a document's job: when it was queued, when its first page started."""

    enqueued_at: datetime | None
    first_page_started_at: datetime | None


def current_run(document_id: str) -> Run:
    enqueued_at = Job.objects.filter(document_id=document_id).values_list("enqueued_at", flat=True).first()
    if enqueued_at is None:
        return Run(None, None)
    first_page = Attempt.objects.filter(
        job__document_id=document_id, stage=Attempt.Stage.PAGE, started_at__gte=enqueued_at
    ).aggregate(first=Min("started_at"))["first"]
    return Run(enqueued_at, first_page)


@dataclass(frozen=True)
class Line:
    """The pages not read yet, of documents not finished."""

    open_pages: int  # of documents being read: every page not read yet
    in_line: int  # of those, each document's window (what a new upload waits behind)
    not_started: int  # documents whose pages are not counted yet (queued, being checked)


def pages_in_line(window: int) -> Line:
    """The line of pages a new upload joins, in one query: a document keeps at most `window`
    pages in the queue at once, however many it has left."""
    open_by_document = (
        Job.objects.filter(document__finished_at__isnull=True)
        .annotate(open=Count("document__pages", filter=Q(document__pages__status__in=Page.OPEN_STATUSES)))
        .values_list("document__page_count", "open")
    )
    open_pages = in_line = not_started = 0
    for page_count, open_of_one in open_by_document:
        if page_count is None:
            not_started += 1
        open_pages += open_of_one
        in_line += min(open_of_one, window)
    return Line(open_pages, in_line, not_started)
