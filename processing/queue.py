"""Where each unfinished document stands: its place in the queue, its ETA to start, and a
state in words when a number would not be honest.

Everything is counted from the database, never from the broker: a worker prefetches
messages, so they leave the list long before their page starts. One call computes every
unfinished document at once (a handful of queries whatever the number of documents), so a
change of the queue is published to every user without a query per socket.

The ETA is weighted by pages: each document ahead still has some pages to read before ours
gets a turn (at most its window, as each document keeps only a window of pages in the
queue), times the measured time of a page, over the worker slots alive now, plus what is
left of the pages being read right now.
"""

import itertools
import statistics
import threading
import time
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db.models import BooleanField, Count, Exists, ExpressionWrapper, F, OuterRef, Q

from processing import lanes, selectors
from processing.identity import database_now
from processing.models import Attempt, Job, Page, WorkerProcess

# Before any page was read here, a guess; replaced by measurements as soon as pages are read.
DEFAULT_PAGE_SECONDS = 3.0
RECENT_PAGES = 200
EWMA_ALPHA = 0.2  # each newer page weighs 20%: the estimate follows a change within ~10 pages
STATS_CACHE_SECONDS = 2.0
NEWCOMER_CACHE_SECONDS = 5.0

# One unfinished document's job, as `_unfinished_rows` reads it.
Row = Mapping[str, Any]

WAITING_FOR_WORKER = "waiting for a worker"
PAUSED = "paused: no worker reads this lane"
RETRYING = "retrying after an error"
WORKER_LOST = "a worker stopped; its page will be read again"


@dataclass(frozen=True)
class PageTimes:
    """Seconds per page: a decaying average per stage (recent pages weigh more), and the
    median and 90th percentile of recent pages for the range shown."""

    ewma: dict[str, float]
    p50: float
    p90: float
    samples: int
    # The median time between two pages finishing: with the slots that were busy, the cost of
    # a page in the queue, overheads (starting documents, storing, dispatch) included.
    gap: float = 0.0

    @property
    def typical(self) -> float:
        return self.ewma.get("total", self.p50)

    def seconds_per_page(self, slots: int) -> float:
        """A page's cost in the queue, per slot: reading time alone leaves out what a page
        costs around it, and the pace pages were finished at over the slots includes it."""
        return max(self.typical, self.gap * slots)

    @property
    def spread(self) -> float:
        """How much slower than typical a slow page is (p90 / p50), at least 1."""
        return max(self.p90 / self.p50, 1.0) if self.p50 > 0 else 1.0


@dataclass
class QueueState:
    document_id: str
    owner_id: int
    status: str
    lane: str
    position: int | None
    eta_p50: float | None
    eta_p90: float | None
    pages_done: int
    pages_total: int | None
    message: str
    enqueued_at: datetime | None = None

    @property
    def eta_seconds(self) -> dict[str, int] | None:
        if self.eta_p50 is None:
            return None
        return {"p50": round(self.eta_p50), "p90": round(max(self.eta_p90 or 0, self.eta_p50))}


_stats_cache: dict[str, tuple[float, PageTimes]] = {}
_stats_lock = threading.Lock()


def page_times(*, fresh: bool = False) -> PageTimes:
    """The measured time of a page from the last pages read, cached for a couple of seconds
    so that a burst of events does not repeat the query."""
    with _stats_lock:
        cached = _stats_cache.get("times")
        if cached and not fresh and time.monotonic() - cached[0] < STATS_CACHE_SECONDS:
            return cached[1]
    recent = list(
        Page.objects.filter(status=Page.Status.DONE, done_at__isnull=False)
        .order_by("-done_at")
        .values_list("timings", "done_at")[:RECENT_PAGES]
    )
    recent.reverse()
    times = measure([timings for timings, _ in recent])
    gaps = pace([done_at for _, done_at in recent if done_at is not None])
    if gaps:
        times = PageTimes(times.ewma, times.p50, times.p90, times.samples, statistics.median(gaps))
    with _stats_lock:
        _stats_cache["times"] = (time.monotonic(), times)
    return times


def pace(done_at: list[datetime]) -> list[float]:
    """Seconds per page between one store and the next: a run of text pages is stored at
    once, so the time since the previous store is shared by the pages of the run."""
    stored_together = Counter(done_at)
    stores = sorted(stored_together)
    return [(b - a).total_seconds() / stored_together[b] for a, b in itertools.pairwise(stores)]


def measure(timings_oldest_first: list[dict[str, Any]]) -> PageTimes:
    ewma: dict[str, float] = {}
    totals = []
    for timing in timings_oldest_first:
        for stage, seconds in timing.items():
            if isinstance(seconds, int | float):
                ewma[stage] = seconds if stage not in ewma else (1 - EWMA_ALPHA) * ewma[stage] + EWMA_ALPHA * seconds
        if isinstance(timing.get("total"), int | float):
            totals.append(float(timing["total"]))
    if not totals:
        return PageTimes({}, DEFAULT_PAGE_SECONDS, DEFAULT_PAGE_SECONDS * 2, 0)
    if len(totals) == 1:
        return PageTimes(ewma, totals[0], totals[0], 1)
    deciles = statistics.quantiles(totals, n=10, method="inclusive")
    return PageTimes(ewma, statistics.median(totals), deciles[8], len(totals))


@dataclass(frozen=True)
class Workers:
    """Worker slots alive now, and the page queues they read; `known` is False when no
    worker ever wrote a heartbeat, and the configured number stands in."""

    slots: int
    queues: frozenset[str]
    known: bool


def workers_alive(now: datetime) -> Workers:
    recent = WorkerProcess.objects.filter(last_heartbeat__gte=now - timedelta(hours=1))
    if not recent.exists():
        configured = settings.EXORA_WORKERS * settings.EXORA_WORKER_THREADS
        return Workers(configured, frozenset(lanes.PAGE_QUEUES), known=False)
    alive = recent.filter(
        stopped_at__isnull=True, last_heartbeat__gte=now - timedelta(seconds=settings.EXORA_WORKER_STALE_SECONDS)
    ).values_list("threads", "queues")
    slots, queues = 0, set()
    for threads, worker_queues in alive:
        reads_pages = set(worker_queues or lanes.PAGE_QUEUES) & set(lanes.PAGE_QUEUES)
        if reads_pages:
            slots += max(threads, 1)
            queues |= reads_pages
    return Workers(slots, frozenset(queues), known=True)


def queue_states(now: datetime | None = None) -> dict[str, QueueState]:
    """Every unfinished document by id, with its position, ETA and message."""
    now = now or database_now()  # the clock leases and heartbeats are stamped with
    rows = list(_unfinished_rows(now))
    if not rows:
        return {}
    times = page_times()
    workers = workers_alive(now)
    running_left, running_pages = _running_pages(now, times)
    retrying = _retrying_documents()
    window = settings.EXORA_DOCUMENT_WINDOW

    started = [r for r in rows if r["started"]]
    waiting = sorted(
        (r for r in rows if not r["started"]),
        key=lambda r: (_lane_order(r), r["enqueued_at"] or r["document__created_at"], str(r["document_id"])),
    )
    # Pages the started documents still have queued ahead of any newcomer (at most a window);
    # the pages being read now count by the time they have left instead.
    pages_ahead = sum(min(_pages_left(r) - running_pages.get(str(r["document_id"]), 0), window) for r in started)
    seconds_left = sum(running_left.values())
    slots = max(workers.slots, 1)
    page_seconds = times.seconds_per_page(slots)

    states: dict[str, QueueState] = {}
    for row in started:
        states[str(row["document_id"])] = _state(
            row, None, None, None, _message(row, retrying, running_left, workers, None)
        )
    lane_starts_at = 0
    for index, row in enumerate(waiting):
        if index and _lane_order(row) != _lane_order(waiting[index - 1]):
            lane_starts_at = index
        eta = (pages_ahead * page_seconds + seconds_left) / slots
        eta_slow = (pages_ahead * page_seconds * times.spread + seconds_left) / slots
        # Only a higher lane overtakes: within a lane the order is the order of arrival.
        overtaken = _overtaken_by(row, waiting[:lane_starts_at])
        message = _message(row, retrying, running_left, workers, overtaken)
        honest = workers.slots > 0 and not message.startswith(("paused", "waiting"))
        states[str(row["document_id"])] = _state(
            row, index + 1, eta if honest else None, eta_slow if honest else None, message
        )
        pages_ahead += min(_pages_left(row), window)
    return states


_newcomer_cache: dict[str, tuple[float, float | None]] = {}  # "wait": (when, the wait)


def newcomer_wait_seconds() -> float | None:
    """About how long a document uploaded now waits for its first page to start (None: no
    worker is alive to say): the pages in line before it (each document's window), at the
    pace pages are read, over the worker slots alive. Cached for a few seconds: every upload
    of a burst asks, and the answer moves slowly."""
    with _stats_lock:
        cached = _newcomer_cache.get("wait")
        if cached and time.monotonic() - cached[0] < NEWCOMER_CACHE_SECONDS:
            return cached[1]
    window = settings.EXORA_DOCUMENT_WINDOW
    line = selectors.pages_in_line(window)
    times = page_times()
    workers = workers_alive(database_now())
    wait = None
    if workers.slots:
        page_seconds = times.seconds_per_page(workers.slots)
        wait = (line.in_line + line.not_started * window) * page_seconds / workers.slots
    with _stats_lock:
        _newcomer_cache["wait"] = (time.monotonic(), wait)
    return wait


def forget_estimates() -> None:
    """Drop the cached page times and wait, so that the next estimate reads the rows as they
    are now (a test's rows, say)."""
    with _stats_lock:
        _stats_cache.clear()
        _newcomer_cache.clear()


def states_for(owner_id: int, now: datetime | None = None) -> list[QueueState]:
    return [s for s in queue_states(now).values() if s.owner_id == owner_id]


def _unfinished_rows(now: datetime) -> Iterable[Row]:
    """The documents not finished (documents.lifecycle stamps `finished_at` when a document
    completes, fails or is cancelled, and clears it when one is retried), by their jobs, with
    what their states are made of."""
    page_attempts = Attempt.objects.filter(
        job=OuterRef("pk"), stage=Attempt.Stage.PAGE, started_at__gte=OuterRef("enqueued_at")
    )
    pages = "document__pages"
    return (
        Job.objects.filter(document__finished_at__isnull=True)
        .annotate(
            reading=Count(
                pages, filter=Q(document__pages__status__in=(Page.Status.RUNNING, Page.Status.DONE)), distinct=True
            ),
            page_attempted=Exists(page_attempts),
            lost=Count(
                pages,
                filter=Q(document__pages__status=Page.Status.RUNNING, document__pages__lease_expires_at__lt=now),
                distinct=True,
            ),
        )
        .annotate(started=ExpressionWrapper(Q(reading__gt=0) | Q(page_attempted=True), output_field=BooleanField()))
        .values(
            "document_id",
            "document__owner_id",
            "document__status",
            "document__page_count",
            "document__pages_done",
            "document__created_at",
            "started",
            "lost",
            "lane",
            "enqueued_at",
        )
    )


def _lane_order(row: Row) -> int:
    return lanes.order(row["lane"])


def _pages_left(row: Row) -> int:
    return max((row["document__page_count"] or 1) - (row["document__pages_done"] or 0), 0)


def _running_pages(now: datetime, times: PageTimes) -> tuple[dict[str, float], dict[str, int]]:
    """Per document, the seconds left on its pages being read now by a live lease, and how
    many. A page whose lease ran out lost its worker: it is waiting to be read again."""
    running = Attempt.objects.filter(
        stage=Attempt.Stage.PAGE,
        outcome="",
        job__document__pages__number=F("page_number"),
        job__document__pages__status=Page.Status.RUNNING,
        job__document__pages__lease_expires_at__gt=now,
    ).values_list("job__document_id", "started_at")
    left: dict[str, float] = {}
    count: dict[str, int] = {}
    for document_id, started_at in running:
        elapsed = (now - started_at).total_seconds()
        left[str(document_id)] = left.get(str(document_id), 0.0) + max(times.typical - elapsed, 0.0)
        count[str(document_id)] = count.get(str(document_id), 0) + 1
    return left, count


def _retrying_documents() -> set[str]:
    """Unfinished documents with a run that failed and will be retried, with no later
    success of the same stage and page."""
    retried = list(
        Attempt.objects.filter(outcome=Attempt.Outcome.RETRYING, job__document__finished_at__isnull=True).values_list(
            "job__document_id", "stage", "page_number", "started_at"
        )
    )
    if not retried:
        return set()
    ok = Attempt.objects.filter(
        job__document_id__in={r[0] for r in retried},
        outcome__in=(Attempt.Outcome.SUCCEEDED, Attempt.Outcome.SKIPPED),
    ).values_list("job__document_id", "stage", "page_number", "started_at")
    last_ok: dict[tuple[object, str, int | None], datetime] = {}
    for document_id, stage, number, started_at in ok:
        key = (document_id, stage, number)
        last_ok[key] = max(started_at, last_ok.get(key, started_at))
    return {
        str(document_id)
        for document_id, stage, number, started_at in retried
        if last_ok.get((document_id, stage, number), started_at) <= started_at
    }


def _overtaken_by(row: Row, ahead: list[Row]) -> list[Row]:
    """Documents ahead of this one that were queued after it: a higher lane let them pass."""
    mine = row["enqueued_at"] or row["document__created_at"]
    return [r for r in ahead if (r["enqueued_at"] or r["document__created_at"]) > mine]


def _message(
    row: Row, retrying: set[str], running_left: dict[str, float], workers: Workers, overtaken: list[Row] | None
) -> str:
    document_id = str(row["document_id"])
    if document_id in retrying:
        return RETRYING
    if row.get("lost"):
        return WORKER_LOST
    if workers.slots == 0:
        return WAITING_FOR_WORKER
    if workers.known and lanes.BY_NAME.get(row["lane"], lanes.DEFAULT).queue not in workers.queues:
        return PAUSED
    if overtaken:
        lane = lanes.BY_NAME.get(overtaken[0]["lane"], lanes.DEFAULT).label.lower()
        if len(overtaken) == 1:
            return f"moved back: a {lane} document was added"
        return f"moved back: {len(overtaken)} {lane} documents were added"
    return ""


def _state(row: Row, position: int | None, eta_p50: float | None, eta_p90: float | None, message: str) -> QueueState:
    return QueueState(
        document_id=str(row["document_id"]),
        owner_id=row["document__owner_id"],
        status=row["document__status"],
        lane=row["lane"] or lanes.DEFAULT.name,
        position=position,
        eta_p50=eta_p50,
        eta_p90=eta_p90,
        pages_done=row["document__pages_done"],
        pages_total=row["document__page_count"],
        message=message,
        enqueued_at=row["enqueued_at"],
    )
