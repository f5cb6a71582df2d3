"""Turning the snapshot's figures into what the dashboard's templates show.

Cheap, per request: the figures themselves were computed once (services/snapshot.py).
"""

from collections.abc import Mapping
from datetime import datetime
from typing import TypedDict

from django.utils import timezone

from dashboard import charts
from dashboard.figures import BrokerQueueFigures, FailureGroup, Percentiles, SeriesName, SnapshotData, WorkerRow
from dashboard.models import Alert, AlertRule

WINDOW_TITLES = {"hour": "Last hour, by minute", "day": "Last day, by hour", "week": "Last week, by hour"}
WINDOW_STEPS = {"hour": 60, "day": 3600, "week": 3600}
TIMING_ROWS = (
    ("document_wait", "Wait: queued → start"),
    ("start", "Start stage (count pages)"),
    ("page_wait", "Wait: document started → page picked up"),
    ("page_render", "Page: render"),
    ("page_ocr", "Page: OCR"),
    ("page_text_layer", "Page: text layer"),
    ("page_total", "Page: total"),
)
SERIES_NAMES: tuple[SeriesName, ...] = ("pages", "documents", "failures", "documents_failed")


class QueueRow(BrokerQueueFigures):
    target: float
    over_target: bool


class TimingRow(Percentiles):
    label: str


class AlertLists(TypedDict):
    firing: list[Alert]
    pending: list[Alert]
    history: list[Alert]
    rules: int  # how many rules there are


class Summary(TypedDict):
    """The tiles at the top of the page."""

    verdict: str  # "healthy", "warning" or "critical"
    workers_alive: int
    workers_unwell: int
    waiting_messages: int | None  # None: the broker could not say
    oldest_age_seconds: float | None
    target_wait_seconds: float | None
    pending_pages: int
    advice: str
    firing: int


class PageContext(TypedDict):
    """What the dashboard's templates get. `database` and `capacity` are empty until the first
    snapshot is computed (the templates show blanks): any mapping will do for them."""

    data: SnapshotData
    computed_at: datetime | None
    age_seconds: float | None
    summary: Summary
    queue_rows: list[QueueRow]
    broker_error: str
    broker_available: bool
    database: Mapping[str, object]
    workers: list[WorkerRow]
    throughput_charts: list[charts.LineChart]
    timing_rows: list[TimingRow]
    distribution_charts: list[charts.BarChart]
    failures: list[FailureGroup]
    capacity: Mapping[str, object]
    alerts: AlertLists


def queue_rows(data: SnapshotData) -> list[QueueRow]:
    queues = data.get("queues", {})
    target = queues.get("target_wait_seconds") or 0
    rows: list[QueueRow] = []
    for queue in queues.get("broker") or []:
        age = queue.get("oldest_age_seconds")
        rows.append({**queue, "target": target, "over_target": age is not None and age > target})
    return rows


def throughput_charts(data: SnapshotData) -> list[charts.LineChart]:
    figures = data.get("throughput", {})
    starts = figures.get("bucket_starts") or {}
    result = []
    for window, title in WINDOW_TITLES.items():
        if window not in starts:
            continue
        series: dict[str, list[float]] = {name: figures[name][window] for name in SERIES_NAMES}
        if window != "hour":
            series = {name: values[-24:] if window == "day" else values for name, values in series.items()}
        result.append(charts.line_chart(series, starts[window], WINDOW_STEPS[window], title))
    return result


def timing_rows(data: SnapshotData) -> list[TimingRow]:
    timings = data.get("timings") or {}
    return [{"label": label, **timings.get(key, {"p50": None, "p95": None, "n": 0})} for key, label in TIMING_ROWS]


def distribution_charts(data: SnapshotData) -> list[charts.BarChart]:
    distributions = data.get("distributions") or {}
    specs = (
        ("pages", "Document size (pages), last 7 days", "#1f6feb"),
        ("bytes", "Document size (bytes), last 7 days", "#6f42c1"),
        ("confidence", "OCR confidence per page (%), last 7 days", "#137333"),
    )
    return [
        charts.bar_chart(distributions[key]["labels"], distributions[key]["counts"], title, colour)
        for key, title, colour in specs
        if key in distributions
    ]


def alert_lists(limit: int = 20) -> AlertLists:
    """Alerts are state, not figures: read live, so an acknowledgement shows at once."""
    open_alerts = list(
        Alert.objects.filter(state__in=Alert.OPEN).select_related("rule", "acknowledged_by").order_by("-started_at")
    )
    history = list(
        Alert.objects.filter(state=Alert.State.RESOLVED).select_related("rule").order_by("-resolved_at")[:limit]
    )
    return {
        "firing": [a for a in open_alerts if a.state == Alert.State.FIRING],
        "pending": [a for a in open_alerts if a.state == Alert.State.PENDING],
        "history": history,
        "rules": AlertRule.objects.count(),
    }


def summary(data: SnapshotData, alerts: AlertLists) -> Summary:
    counts = data.get("worker_counts") or {}
    rows = queue_rows(data)
    database = data.get("queues", {}).get("database", {})
    waiting = sum(r["ready"] + r["delayed"] for r in rows) if rows else None
    oldest = max((r["oldest_age_seconds"] or 0 for r in rows), default=None) if rows else None
    capacity = data.get("capacity", {})
    firing = alerts["firing"]
    verdict = "healthy"
    if any(a.severity == Alert.Severity.CRITICAL for a in firing):
        verdict = "critical"
    elif firing:
        verdict = "warning"
    return {
        "verdict": verdict,
        "workers_alive": counts.get("alive", 0),
        "workers_unwell": counts.get("stale", 0) + counts.get("dead", 0),
        "waiting_messages": waiting,
        "oldest_age_seconds": oldest,
        "target_wait_seconds": data.get("queues", {}).get("target_wait_seconds"),
        "pending_pages": (database.get("pages") or {}).get("pending", 0),
        "advice": capacity.get("advice", ""),
        "firing": len(firing),
    }


def page_context(data: SnapshotData, computed_at: datetime | None) -> PageContext:
    alerts = alert_lists()
    return {
        "data": data,
        "computed_at": computed_at,
        "age_seconds": round((timezone.now() - computed_at).total_seconds(), 1) if computed_at else None,
        "summary": summary(data, alerts),
        "queue_rows": queue_rows(data),
        "broker_error": data.get("queues", {}).get("broker_error", ""),
        "broker_available": data.get("queues", {}).get("broker") is not None,
        "database": data.get("queues", {}).get("database", {}),
        "workers": data.get("workers") or [],
        "throughput_charts": throughput_charts(data),
        "timing_rows": timing_rows(data),
        "distribution_charts": distribution_charts(data),
        "failures": data.get("failures") or [],
        "capacity": data.get("capacity", {}),
        "alerts": alerts,
    }
