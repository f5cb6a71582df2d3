"""The shared snapshot: every dashboard figure, computed once per refresh interval.

Viewers, web processes and /metrics scrapes all read one row; whoever finds it older than
EXORA_DASHBOARD_REFRESH_SECONDS recomputes it under a row lock, and the others keep reading
the previous figures meanwhile (skip_locked), so ten open tabs cost what one does.
"""

import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction

from dashboard.figures import BrokerQueueFigures, SnapshotData
from dashboard.models import DashboardSnapshot
from dashboard.selectors import capacity, failures, queues, throughput, workers
from dashboard.selectors.conditions import Context
from processing import tallies
from processing.brokers import BrokerQueues, broker_queues
from processing.identity import database_now

logger = logging.getLogger(__name__)

SNAPSHOT_ID = 1


def compute(now: datetime | None = None, broker: BrokerQueues | None = None) -> SnapshotData:
    """Every figure, now. The broker's figures are left out (not failed) when it cannot answer."""
    now = now or database_now()  # the clock heartbeats and leases are stamped with
    names = queues.queue_names()
    broker_figures: list[BrokerQueueFigures] | None = None
    broker_error = ""
    if broker is not None:
        try:
            broker_figures = queues.broker_figures(broker, names)
        except Exception as exc:  # a down broker must not take the dashboard with it
            logger.warning("dashboard: the broker's queue figures are unavailable: %s", exc)
            broker_error = type(exc).__name__
    worker_rows = workers.workers_overview(now)
    counts = {state: 0 for state in (workers.ALIVE, workers.STALE, workers.DEAD, workers.STOPPED)}
    for row in worker_rows:
        counts[row["state"]] += 1
    slots = sum(row["threads"] for row in worker_rows if row["state"] == workers.ALIVE)
    return {
        "computed_at": now.isoformat(),
        "queues": {
            "names": names,
            "broker": broker_figures,
            "broker_error": broker_error,
            "broker_kind": broker.kind if broker is not None else "",
            "database": queues.database_queues(now),
            "target_wait_seconds": settings.EXORA_TARGET_WAIT_SECONDS,
        },
        "workers": worker_rows,
        "worker_counts": counts,
        "throughput": throughput.throughput(now),
        "timings": throughput.timings(now),
        "distributions": throughput.distributions(now),
        "failures": failures.failure_groups(),
        "capacity": capacity.capacity(slots, now),
    }


def current(now: datetime | None = None) -> DashboardSnapshot:
    """The snapshot for viewers and scrapes, recomputed first if older than the refresh interval."""
    max_age = settings.EXORA_DASHBOARD_REFRESH_SECONDS
    now = now or database_now()
    snapshot, _ = DashboardSnapshot.objects.get_or_create(pk=SNAPSHOT_ID)
    if snapshot.computed_at and (now - snapshot.computed_at) < timedelta(seconds=max_age):
        return snapshot
    refreshed = refresh(max_age, now) or snapshot
    _check_watchdog(refreshed, now)
    return refreshed


def fresh(now: datetime) -> DashboardSnapshot:
    """The snapshot recomputed now (for the evaluator, which needs current figures)."""
    snapshot, _ = DashboardSnapshot.objects.get_or_create(pk=SNAPSHOT_ID)
    return refresh(0, now) or snapshot


def refresh(max_age: float, now: datetime) -> DashboardSnapshot | None:
    """Recompute under the row lock; None when another process is recomputing it right now."""
    broker = broker_queues()
    with transaction.atomic():
        snapshot = DashboardSnapshot.objects.select_for_update(skip_locked=True).filter(pk=SNAPSHOT_ID).first()
        if snapshot is None:
            return None
        if snapshot.computed_at and (now - snapshot.computed_at) < timedelta(seconds=max_age):
            return snapshot  # refreshed by another process while we waited
        snapshot.data = compute(now, broker)
        start, until = tallies.window(snapshot.tallied_until, now)
        tallies.advance(start, until)
        snapshot.tallied_until = until
        snapshot.computed_at = now
        snapshot.save(update_fields=["data", "computed_at", "tallied_until"])
    return snapshot


def mark_alerts_evaluated(now: datetime) -> None:
    DashboardSnapshot.objects.update_or_create(pk=SNAPSHOT_ID, defaults={"alerts_evaluated_at": now})


def _check_watchdog(snapshot: DashboardSnapshot, now: datetime) -> None:
    """The alert pipeline's own alert, checked here, outside the evaluator it watches: every
    dashboard refresh and /metrics scrape (Prometheus scrapes constantly) comes through here."""
    from dashboard.models import AlertRule
    from dashboard.services import alerts

    try:
        context = Context(data=snapshot.data, evaluated_at=snapshot.alerts_evaluated_at)
        events = alerts.evaluate(context, now, kinds={AlertRule.Kind.WATCHDOG})
        alerts.notify_all(events)
    except Exception:
        logger.exception("dashboard: the alert watchdog could not be checked")
