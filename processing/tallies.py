"""Cumulative counters and histograms for /metrics, advanced a slice of time at a time.

Prometheus counters must only go up, and a scrape must not scan every page ever read. So the
dashboard's snapshot refresh adds what finished between the last tally and a minute ago (rows are
committed a little after their timestamps are taken) to `MetricTally` rows.
"""

from collections import defaultdict
from datetime import datetime, timedelta

from django.db.models import F

from processing.models import Attempt, Job, MetricTally, Page

SETTLE = timedelta(seconds=60)
MAX_CATCH_UP = timedelta(days=1)  # after a long stop, older events are not counted
# Seconds: from a fast text-layer page to a slow OCR page, and waits of many minutes.
DURATION_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 900.0, 3600.0)
PAGE_STAGES = ("render", "ocr", "text_layer", "total")

# Names as /metrics shows them (dashboard/metrics.py).
PAGES_PROCESSED = "pages_processed"
DOCUMENTS_FINISHED = "documents_finished"
ATTEMPTS_FAILED = "attempts_failed"
PAGE_STAGE_SECONDS = "page_stage_seconds"
DOCUMENT_WAIT_SECONDS = "document_wait_seconds"
PAGES_RECOVERED = "pages_recovered"


class _Batch:
    def __init__(self) -> None:
        self.counts: dict[tuple[str, str], int] = defaultdict(int)
        self.observations: dict[tuple[str, str], list[float]] = defaultdict(list)

    def count(self, name: str, label: str, n: int = 1) -> None:
        self.counts[(name, label)] += n

    def observe(self, name: str, label: str, value: float) -> None:
        self.observations[(name, label)].append(value)


def window(tallied_until: datetime | None, now: datetime) -> tuple[datetime, datetime]:
    """The slice of time to tally next: from the last tally (at most a day back) to a minute ago."""
    until = now - SETTLE
    start = tallied_until or until
    return max(start, until - MAX_CATCH_UP), until


def advance(start: datetime, until: datetime) -> None:
    """Add the events of [start, until) to the tallies. Run by one process at a time."""
    if until <= start:
        return
    batch = _Batch()
    pages = Page.objects.filter(status=Page.Status.DONE, done_at__gte=start, done_at__lt=until)
    for page_timings in pages.values_list("timings", flat=True).iterator(chunk_size=2000):
        batch.count(PAGES_PROCESSED, "")
        for stage in PAGE_STAGES:
            value = (page_timings or {}).get(stage)
            if isinstance(value, int | float):
                batch.observe(PAGE_STAGE_SECONDS, stage, float(value))
    finished = Job.objects.filter(document__finished_at__gte=start, document__finished_at__lt=until)
    for status in finished.values_list("document__status", flat=True).iterator(chunk_size=2000):
        batch.count(DOCUMENTS_FINISHED, status)
    failed = Attempt.objects.filter(
        finished_at__gte=start, finished_at__lt=until, outcome__in=(Attempt.Outcome.RETRYING, Attempt.Outcome.FAILED)
    )
    for stage in failed.values_list("stage", flat=True).iterator(chunk_size=2000):
        batch.count(ATTEMPTS_FAILED, stage)
    jobs = Job.objects.filter(started_at__gte=start, started_at__lt=until, enqueued_at__isnull=False)
    for enqueued, begun in jobs.values_list("enqueued_at", "started_at").iterator(chunk_size=2000):
        if enqueued is not None and begun is not None:  # the filters say so; the types cannot
            batch.observe(DOCUMENT_WAIT_SECONDS, "", max((begun - enqueued).total_seconds(), 0.0))
    _store(batch)


def count_now(name: str, label: str = "", n: int = 1) -> None:
    """Add to a counter as the event happens, for events no row keeps the time of (a page
    recovery handed back: the page only keeps how many times)."""
    batch = _Batch()
    batch.count(name, label, n)
    _store(batch)


def _store(batch: _Batch) -> None:
    for (name, label), n in batch.counts.items():
        tally, _ = MetricTally.objects.get_or_create(name=name, label=label)
        MetricTally.objects.filter(pk=tally.pk).update(count=F("count") + n)
    for (name, label), values in batch.observations.items():
        tally, _ = MetricTally.objects.get_or_create(
            name=name, label=label, defaults={"buckets": [0] * len(DURATION_BUCKETS)}
        )
        buckets = list(tally.buckets) or [0] * len(DURATION_BUCKETS)
        for value in values:
            for i, bound in enumerate(DURATION_BUCKETS):
                if value <= bound:
                    buckets[i] += 1  # cumulative: every bucket at or above the value
        tally.buckets = buckets
        tally.count += len(values)
        tally.total += sum(values)
        tally.save(update_fields=["buckets", "count", "total"])
