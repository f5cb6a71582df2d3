"""Queue figures, from Redis and from the database.

Redis, in dramatiq's key layout (dramatiq/brokers/redis/dispatch.lua), per queue `q`:
    <ns>:q            list of message ids ready to be fetched
    <ns>:q.msgs       hash id -> message, for ready messages *and* fetched-but-unacked ones
    <ns>:q.DQ         list of delayed ids (retry backoff) not yet fetched by a worker
    <ns>:q.DQ.msgs    hash of every delayed message, fetched (held until its eta) or not
    <ns>:q.XQ         sorted set of dead-lettered ids, scored by when they died
So running (fetched, not acknowledged: being run or prefetched) is HLEN q.msgs - LLEN q.
Every figure is an O(1) command in one pipeline, plus one LINDEX/HGET for the oldest message:
never KEYS or SCAN, which block or crawl a busy Redis.
"""

import json
import time
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Protocol, cast

import redis
from django.db.models import Count, Min
from django.utils import timezone

from dashboard.figures import DatabaseQueues, RedisQueueFigures
from documents.models import Document
from processing import lanes
from processing.models import Page

if TYPE_CHECKING:
    from redis.client import Pipeline

    # The broker's client: dramatiq does not decode responses, so they are bytes.
    RedisClient = redis.Redis[bytes]
else:
    RedisClient = redis.Redis  # not subscriptable at run time


class PipelineClient(Protocol):
    """What the queue figures need of a client: pipelines (a redis.Redis, or a wrapper of one)."""

    def pipeline(self, transaction: bool = ...) -> "Pipeline[bytes]": ...


@dataclass
class RedisQueue:
    name: str
    ready: int
    running: int
    delayed: int
    dead: int
    dead_recent: int  # dead-lettered within the window asked for
    oldest_age_seconds: float | None  # of the message at the head of the ready list


def queue_names() -> list[str]:
    """The queues of the lanes table (processing.lanes), without delay queues."""
    return sorted(lanes.QUEUES)


def redis_queues(
    client: PipelineClient, names: Iterable[str], *, namespace: str = "dramatiq", dead_window_seconds: int = 900
) -> list[RedisQueue]:
    """Per queue: ready, running, delayed and dead-letter counts, and the oldest ready message's age."""
    names = list(names)
    now_ms = time.time() * 1000
    pipe = client.pipeline(transaction=False)
    for name in names:
        key = f"{namespace}:{name}"
        pipe.llen(key)
        pipe.hlen(f"{key}.msgs")
        pipe.hlen(f"{key}.DQ.msgs")
        pipe.zcard(f"{key}.XQ")
        pipe.zcount(f"{key}.XQ", now_ms - dead_window_seconds * 1000, "+inf")
        pipe.lindex(key, 0)
    answers = pipe.execute()

    heads: dict[str, int] = {}  # queue name -> its place in head_messages
    pipe = client.pipeline(transaction=False)
    for i, name in enumerate(names):
        head = answers[i * 6 + 5]
        if head is not None:
            heads[name] = len(heads)
            pipe.hget(f"{namespace}:{name}.msgs", head)
    head_messages = pipe.execute() if heads else []

    figures = []
    for i, name in enumerate(names):
        ready, in_hash, delayed, dead, dead_recent, _ = answers[i * 6 : i * 6 + 6]
        oldest = None
        if name in heads:
            oldest = _age_seconds(head_messages[heads[name]], now_ms)
        figures.append(
            RedisQueue(
                name=name,
                ready=ready,
                running=max(in_hash - ready, 0),
                delayed=delayed,
                dead=dead,
                dead_recent=dead_recent,
                oldest_age_seconds=oldest,
            )
        )
    return figures


def _age_seconds(raw: bytes | None, now_ms: float) -> float | None:
    if raw is None:  # acknowledged between the two pipelines
        return None
    try:
        enqueued_ms: float = json.loads(raw)["message_timestamp"]
    except (ValueError, KeyError, TypeError):
        return None
    return round(max(now_ms - enqueued_ms, 0) / 1000, 1)


def redis_queues_as_dicts(
    client: PipelineClient, names: Iterable[str], *, namespace: str = "dramatiq", dead_window_seconds: int = 900
) -> list[RedisQueueFigures]:
    figures = redis_queues(client, names, namespace=namespace, dead_window_seconds=dead_window_seconds)
    # asdict() is typed as dict[str, Any]; RedisQueueFigures has RedisQueue's fields.
    return [cast(RedisQueueFigures, asdict(queue)) for queue in figures]


def database_queues(now: datetime | None = None) -> DatabaseQueues:
    """The database's view: documents and pages by state, and how long the oldest has waited.

    The database is the truth: a message can be lost from Redis, a prefetched one leaves the
    ready list, but a page to read stays pending until it is read.
    """
    now = now or timezone.now()
    documents = dict(Document.objects.values_list("status").annotate(n=Count("id")).order_by())
    open_statuses = (Page.Status.PENDING, Page.Status.RUNNING)
    # Pages of documents still reading: a failed or cancelled document leaves its unread pages
    # pending, and they wait for nothing. Done pages of all time would be a scan of the
    # biggest table: the throughput section counts recent ones by time instead.
    open_pages = Page.objects.filter(status__in=open_statuses, document__status=Document.Status.READING)
    pages = dict(open_pages.values_list("status").annotate(n=Count("id")).order_by())
    oldest_queued = Document.objects.filter(status=Document.Status.QUEUED).aggregate(t=Min("job__enqueued_at"))["t"]
    # A page waits from the moment its document started reading (pages have no creation time).
    oldest_page = Page.objects.filter(status=Page.Status.PENDING, document__status=Document.Status.READING).aggregate(
        t=Min("document__started_at")
    )["t"]
    return {
        "documents": {status: documents.get(status, 0) for status in Document.Status.values},
        "pages": {status: pages.get(status, 0) for status in open_statuses},
        "oldest_queued_document_seconds": _seconds_since(oldest_queued, now),
        "oldest_pending_page_seconds": _seconds_since(oldest_page, now),
    }


def _seconds_since(moment: datetime | None, now: datetime) -> float | None:
    return None if moment is None else round(max((now - moment).total_seconds(), 0.0), 1)
