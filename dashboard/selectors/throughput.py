"""Throughput over time, timings at p50/p95, and the distributions of sizes and confidence.

Each figure is one aggregate query (GROUP BY a truncated time, or conditional counts), or a
bounded sample of recent rows for the percentiles, so that computing a snapshot stays cheap
however many pages were read before.
"""

import itertools
import math
from collections import defaultdict
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta

from django.db.models import Count, DateTimeField, Model, Q, QuerySet
from django.db.models.functions import TruncHour, TruncMinute
from django.db.models.functions.datetime import TruncBase
from django.utils import timezone

from dashboard.figures import Histogram, Percentiles, Series, Throughput
from documents.models import Document
from processing.models import Attempt, Job, Page

SAMPLE = 10_000  # the most recent rows a percentile is taken over
# Seconds per chart bucket, and how many buckets each chart shows.
WINDOWS = {"hour": (60, 60), "day": (3600, 24), "week": (3600, 168)}
PAGE_STAGES = ("render", "ocr", "text_layer", "total")
PAGE_BUCKETS = (1, 5, 20, 100, 500)
BYTE_BUCKETS = (100_000, 1_000_000, 10_000_000, 50_000_000)


def _series(queryset: QuerySet[Model], field: str, now: datetime) -> Series:
    """Events per minute in each bucket of each window, from the timestamps in `field`."""
    minute_start = now.replace(second=0, microsecond=0) - timedelta(minutes=59)
    hour_start = now.replace(minute=0, second=0, microsecond=0) - timedelta(hours=167)
    by_minute = _counts(queryset, field, minute_start, TruncMinute)
    by_hour = _counts(queryset, field, hour_start, TruncHour)
    result: Series = {}
    for window, (step, buckets) in WINDOWS.items():
        counts = by_minute if step == 60 else by_hour
        last = minute_start + timedelta(minutes=59) if step == 60 else hour_start + timedelta(hours=167)
        starts = [last - timedelta(seconds=step * i) for i in range(buckets - 1, -1, -1)]
        result[window] = [round(counts.get(start, 0) / (step / 60), 3) for start in starts]
    return result


def _counts(queryset: QuerySet[Model], field: str, since: datetime, trunc: type[TruncBase]) -> dict[datetime, int]:
    rows = (
        queryset.filter(**{f"{field}__gte": since})
        .annotate(bucket=trunc(field, output_field=DateTimeField(), tzinfo=UTC))
        .values("bucket")
        .annotate(n=Count("pk"))
        .order_by()
    )
    return {row["bucket"]: row["n"] for row in rows}


def throughput(now: datetime | None = None) -> Throughput:
    """Pages and documents finished, and failures, per minute: last hour, day and week."""
    now = now or timezone.now()
    failures = Attempt.objects.filter(outcome__in=(Attempt.Outcome.RETRYING, Attempt.Outcome.FAILED))
    return {
        "pages": _series(Page.objects.filter(status=Page.Status.DONE), "done_at", now),
        "documents": _series(Document.objects.filter(status=Document.Status.COMPLETED), "finished_at", now),
        "documents_failed": _series(Document.objects.filter(status=Document.Status.FAILED), "finished_at", now),
        "failures": _series(failures, "finished_at", now),
        "bucket_starts": {
            "hour": (now.replace(second=0, microsecond=0) - timedelta(minutes=59)).isoformat(),
            "day": (now.replace(minute=0, second=0, microsecond=0) - timedelta(hours=23)).isoformat(),
            "week": (now.replace(minute=0, second=0, microsecond=0) - timedelta(hours=167)).isoformat(),
        },
    }


def percentiles(values: Iterable[float]) -> Percentiles:
    """p50 and p95 by nearest rank, with the sample size (None when there is no sample)."""
    ordered = sorted(values)
    if not ordered:
        return {"p50": None, "p95": None, "n": 0}

    def rank(p: float) -> float:
        return round(ordered[max(math.ceil(p * len(ordered)) - 1, 0)], 3)

    return {"p50": rank(0.50), "p95": rank(0.95), "n": len(ordered)}


def timings(now: datetime | None = None, hours: int = 24) -> dict[str, Percentiles]:
    """Wait and processing time per stage at p50/p95, over the last `hours` (recent rows only)."""
    now = now or timezone.now()
    since = now - timedelta(hours=hours)
    result: dict[str, Percentiles] = {}

    # Documents: from queued (again, after a retry) to their start stage running.
    jobs = Job.objects.filter(started_at__gte=since, enqueued_at__isnull=False).order_by("-started_at")[:SAMPLE]
    result["document_wait"] = percentiles(
        max((started - enqueued).total_seconds(), 0.0)
        for enqueued, started in jobs.values_list("enqueued_at", "started_at")
        if enqueued is not None and started is not None  # the filter leaves no None: this narrows the type
    )

    # Pages: from their document starting to read to the page's first attempt.
    first_attempt: dict[tuple[int, int | None], float] = {}
    attempts = (
        Attempt.objects.filter(stage=Attempt.Stage.PAGE, started_at__gte=since, job__started_at__isnull=False)
        .order_by("-started_at")
        .values_list("job_id", "page_number", "started_at", "job__started_at")[: SAMPLE * 2]
    )
    for job_id, number, started, job_started in attempts:
        if job_started is None:  # the filter leaves no None: this narrows the type
            continue
        wait = max((started - job_started).total_seconds(), 0.0)
        key = (job_id, number)
        first_attempt[key] = min(wait, first_attempt.get(key, wait))
    result["page_wait"] = percentiles(first_attempt.values())

    starts = (
        Attempt.objects.filter(stage=Attempt.Stage.START, outcome=Attempt.Outcome.SUCCEEDED, finished_at__gte=since)
        .order_by("-finished_at")
        .values_list("started_at", "finished_at")[:SAMPLE]
    )
    # The filter leaves no `end` None: the condition narrows the type.
    result["start"] = percentiles((end - begin).total_seconds() for begin, end in starts if end is not None)

    per_stage: dict[str, list[float]] = defaultdict(list)
    pages = (
        Page.objects.filter(status=Page.Status.DONE, done_at__gte=since)
        .order_by("-done_at")
        .values_list("timings", flat=True)[:SAMPLE]
    )
    for page_timings in pages:
        for stage in PAGE_STAGES:
            if isinstance((page_timings or {}).get(stage), int | float):
                per_stage[stage].append(float(page_timings[stage]))
    for stage in PAGE_STAGES:
        result[f"page_{stage}"] = percentiles(per_stage[stage])
    return result


def _page_labels(bounds: tuple[int, ...]) -> list[str]:
    """(1, 5, 20) -> ["1", "2-5", "6-20", "> 20"]."""
    labels = [str(bounds[0])]
    labels += [f"{low + 1}-{high}" for low, high in itertools.pairwise(bounds)]
    return [*labels, f"> {bounds[-1]}"]


def _byte_labels(bounds: tuple[int, ...]) -> list[str]:
    labels = [f"<= {_size(bounds[0])}"]
    labels += [f"{_size(low)}-{_size(high)}" for low, high in itertools.pairwise(bounds)]
    return [*labels, f"> {_size(bounds[-1])}"]


def _size(n: int) -> str:
    for limit, suffix in ((1_000_000, "MB"), (1_000, "kB")):
        if n >= limit:
            return f"{n / limit:g} {suffix}"
    return f"{n} B"


def _histogram(queryset: QuerySet[Model], field: str, bounds: tuple[float, ...]) -> list[int]:
    """Counts per bucket (≤ first bound, …, > last bound) in one query of conditional counts."""
    filters: dict[str, Count] = {}
    low: float | None = None
    for i, high in enumerate(bounds):
        condition = Q(**{f"{field}__lte": high})
        if low is not None:
            condition &= Q(**{f"{field}__gt": low})
        filters[f"b{i}"] = Count("pk", filter=condition)
        low = high
    filters[f"b{len(bounds)}"] = Count("pk", filter=Q(**{f"{field}__gt": low}))
    counts = queryset.aggregate(**filters)
    return [counts[f"b{i}"] for i in range(len(bounds) + 1)]


def distributions(now: datetime | None = None, days: int = 7) -> dict[str, Histogram]:
    """Document sizes (pages, bytes) and OCR confidence, over what finished in the last week."""
    now = now or timezone.now()
    since = now - timedelta(days=days)
    documents = Document.objects.filter(finished_at__gte=since)
    pages = Page.objects.filter(done_at__gte=since, mean_confidence__isnull=False)
    confidence_bounds = tuple(range(10, 100, 10))
    return {
        "pages": {
            "labels": _page_labels(PAGE_BUCKETS),
            "counts": _histogram(documents.filter(page_count__isnull=False), "page_count", PAGE_BUCKETS),
        },
        "bytes": {
            "labels": _byte_labels(BYTE_BUCKETS),
            "counts": _histogram(documents, "size_bytes", BYTE_BUCKETS),
        },
        "confidence": {
            "labels": [f"{low}-{low + 10}" for low in range(0, 100, 10)],
            "counts": _histogram(pages, "mean_confidence", confidence_bounds),
        },
    }
