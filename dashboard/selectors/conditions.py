"""What each kind of alert rule measures: a value per subject (a queue, a worker, or "").

Values are "badness": the higher, the worse, so every rule fires the same way (value over
a threshold). A rule with too little data to judge (fewer events than its `min_count`)
measures nothing, which counts as clear.
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import Count, Q

from dashboard.figures import BrokerQueueFigures, SnapshotData
from dashboard.models import AlertRule
from dashboard.selectors import queues as queue_selectors
from dashboard.selectors import workers as worker_selectors
from documents.models import Document
from processing.brokers import BrokerQueues
from processing.models import Attempt, Job

Observations = dict[str, float]


@dataclass
class Context:
    """What one evaluation round reads: the snapshot, and the broker for windowed queue figures."""

    data: SnapshotData
    broker: BrokerQueues | None = None  # None with the stub broker
    evaluated_at: datetime | None = None  # the evaluator's last round, for the watchdog


Measure = Callable[[AlertRule, Context, datetime], Observations]


def measure(rule: AlertRule, context: Context, now: datetime) -> Observations:
    measures: dict[str, Measure] = {
        AlertRule.Kind.QUEUE_DEPTH: _queue_depth,
        AlertRule.Kind.WAIT_TIME: _wait_time,
        AlertRule.Kind.WORKER_MEMORY: _worker_memory,
        AlertRule.Kind.FAILURE_RATE: _failure_rate,
        AlertRule.Kind.NO_WORKER: _no_worker,
        AlertRule.Kind.STALE_HEARTBEAT: _stale_heartbeat,
        AlertRule.Kind.DEAD_LETTERS: _dead_letters,
        AlertRule.Kind.WATCHDOG: _watchdog,
    }
    observations = measures[rule.kind](rule, context, now)
    if rule.queue and rule.kind not in (AlertRule.Kind.WORKER_MEMORY, AlertRule.Kind.STALE_HEARTBEAT):
        observations = {subject: v for subject, v in observations.items() if subject == rule.queue}
    return observations


def _broker_queues(context: Context) -> dict[str, BrokerQueueFigures]:
    return {q["name"]: q for q in context.data.get("queues", {}).get("broker") or []}


def _database_backlog(context: Context) -> dict[str, float]:
    """Work waiting per queue as the database sees it (true even when the broker lost messages)."""
    database = context.data.get("queues", {}).get("database", {})
    return {
        "documents": float(database.get("documents", {}).get(Document.Status.QUEUED, 0)),
        "pages": float(database.get("pages", {}).get("pending", 0)),
    }


def _queue_depth(rule: AlertRule, context: Context, now: datetime) -> Observations:
    broker_queues = _broker_queues(context)
    if broker_queues:
        return {name: float(q["ready"]) for name, q in broker_queues.items()}
    return _database_backlog(context)


def _wait_time(rule: AlertRule, context: Context, now: datetime) -> Observations:
    """The mean wait of the jobs started in the window, or the oldest waiting job's age if
    that is longer (a queue nobody reads starts nothing, and its average would look fine)."""
    since = now - timedelta(seconds=rule.window_seconds)
    waits: dict[str, list[float]] = {"documents": [], "pages": []}
    for enqueued, started in Job.objects.filter(started_at__gte=since, enqueued_at__isnull=False).values_list(
        "enqueued_at", "started_at"
    )[:5000]:
        if enqueued is not None and started is not None:  # the filter leaves no None: this narrows the type
            waits["documents"].append((started - enqueued).total_seconds())
    first: dict[tuple[int, int | None], float] = {}
    for job_id, number, started, job_started in Attempt.objects.filter(
        stage=Attempt.Stage.PAGE, started_at__gte=since, job__started_at__isnull=False
    ).values_list("job_id", "page_number", "started_at", "job__started_at")[:10000]:
        if job_started is None:  # the filter leaves no None: this narrows the type
            continue
        wait = (started - job_started).total_seconds()
        first[(job_id, number)] = min(wait, first.get((job_id, number), wait))
    waits["pages"] = list(first.values())

    database = context.data.get("queues", {}).get("database", {})
    oldest = {
        "documents": database.get("oldest_queued_document_seconds") or 0.0,
        "pages": database.get("oldest_pending_page_seconds") or 0.0,
    }
    for name, queue in _broker_queues(context).items():
        oldest[name] = max(oldest.get(name, 0.0), queue.get("oldest_age_seconds") or 0.0)
    result: Observations = {}
    for name in set(waits) | set(oldest):
        samples = waits.get(name, [])
        mean = sum(samples) / len(samples) if samples else 0.0
        result[name] = round(max(mean, oldest.get(name, 0.0)), 1)
    return result


def _worker_memory(rule: AlertRule, context: Context, now: datetime) -> Observations:
    return {
        w["name"]: percent
        for w in context.data.get("workers", [])
        if w["state"] == worker_selectors.ALIVE and (percent := w.get("memory_percent")) is not None
    }


def _failure_rate(rule: AlertRule, context: Context, now: datetime) -> Observations:
    finished = Document.objects.filter(
        finished_at__gte=now - timedelta(seconds=rule.window_seconds),
        status__in=(Document.Status.COMPLETED, Document.Status.FAILED),
    ).aggregate(total=Count("id"), failed=Count("id", filter=Q(status=Document.Status.FAILED)))
    # One failure out of two documents is no rate: wait for enough documents to judge.
    if not finished["total"] or finished["total"] < rule.min_count:
        return {}
    return {"": round(100.0 * finished["failed"] / finished["total"], 2)}


def _no_worker(rule: AlertRule, context: Context, now: datetime) -> Observations:
    """Jobs waiting in a queue that no alive worker reads (0 when one does)."""
    waiting = _database_backlog(context)
    for name, queue in _broker_queues(context).items():
        waiting[name] = max(waiting.get(name, 0.0), float(queue["ready"] + queue["delayed"]))
    alive: dict[str, int] = {}
    for worker in context.data.get("workers", []):
        if worker["state"] == worker_selectors.ALIVE:
            for queue_name in worker["queues"]:
                alive[queue_name] = alive.get(queue_name, 0) + 1
    return {name: (count if not alive.get(name) else 0.0) for name, count in waiting.items()}


def _stale_heartbeat(rule: AlertRule, context: Context, now: datetime) -> Observations:
    return worker_selectors.stale_or_dead_since(now)


def _dead_letters(rule: AlertRule, context: Context, now: datetime) -> Observations:
    """Messages dead-lettered within the window: growth, not the total (old ones expire)."""
    if context.broker is None:
        return {}
    names = [q for q in _broker_queues(context)] or queue_selectors.queue_names()
    figures = context.broker.figures(names, dead_window_seconds=rule.window_seconds)
    return {q.name: float(q.dead_recent) for q in figures}


def _watchdog(rule: AlertRule, context: Context, now: datetime) -> Observations:
    """Seconds since the evaluator's last round; never run counts as very long ago."""
    if context.evaluated_at is None:
        return {"alert evaluator": 1e9}
    return {"alert evaluator": round(max((now - context.evaluated_at).total_seconds(), 0.0), 1)}
