"""Queue figures, from the broker (processing.brokers, Redis or RabbitMQ) and from the database."""

from collections.abc import Iterable
from dataclasses import asdict
from datetime import datetime
from typing import cast

from django.db.models import Count, Min
from django.utils import timezone

from dashboard.figures import BrokerQueueFigures, DatabaseQueues
from documents.models import Document
from processing import lanes
from processing.brokers import BrokerQueues
from processing.models import Page


def queue_names() -> list[str]:
    """The queues of the lanes table (processing.lanes), without delay queues."""
    return sorted(lanes.QUEUES)


def broker_figures(
    queues: BrokerQueues, names: Iterable[str], dead_window_seconds: int = 900
) -> list[BrokerQueueFigures]:
    """Per queue: ready, running, delayed and dead-letter counts, as the snapshot keeps them."""
    return [cast(BrokerQueueFigures, asdict(q)) for q in queues.figures(names, dead_window_seconds)]


def database_queues(now: datetime | None = None) -> DatabaseQueues:
    """The database's view: documents and pages by state, and how long the oldest has waited.

    The database is the truth: a message can be lost from the broker, a prefetched one leaves
    the ready list, but a page to read stays pending until it is read.
    """
    now = now or timezone.now()
    documents = dict(Document.objects.values_list("status").annotate(n=Count("id")).order_by())
    # Pages of documents still reading: a failed or cancelled document leaves its unread pages
    # pending, and they wait for nothing. Done pages of all time would be a scan of the
    # biggest table: the throughput section counts recent ones by time instead.
    open_pages = Page.objects.filter(status__in=Page.OPEN_STATUSES, document__status=Document.Status.READING)
    pages = dict(open_pages.values_list("status").annotate(n=Count("id")).order_by())
    oldest_queued = Document.objects.filter(status=Document.Status.QUEUED).aggregate(t=Min("job__enqueued_at"))["t"]
    # A page waits from the moment its document started reading (pages have no creation time).
    oldest_page = Page.objects.filter(status=Page.Status.PENDING, document__status=Document.Status.READING).aggregate(
        t=Min("document__started_at")
    )["t"]
    return {
        "documents": {status: documents.get(status, 0) for status in Document.Status.values},
        "pages": {status: pages.get(status, 0) for status in Page.OPEN_STATUSES},
        "oldest_queued_document_seconds": _seconds_since(oldest_queued, now),
        "oldest_pending_page_seconds": _seconds_since(oldest_page, now),
    }


def _seconds_since(moment: datetime | None, now: datetime) -> float | None:
    return None if moment is None else round(max((now - moment).total_seconds(), 0.0), 1)
