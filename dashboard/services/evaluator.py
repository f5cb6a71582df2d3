"""The periodic alert evaluator (`manage.py run_alerts`), one leader at a time.

It runs as its own process rather than as a thread in the workers: the alerts that matter
most are about the workers (none alive, all stuck, out of memory), and a thread inside them
would die, or hang, with them. Several copies may run (one per host, for availability); a
Redis lock elects the one that evaluates, and another takes over within a few intervals
when the leader dies. The watchdog rule checks the evaluator from outside (see
services/snapshot.py), because a dead evaluator cannot report itself.

The leader also runs processing's own periodic duties about the workers
(processing.housekeeping), for the same reason: a worker cannot report its own death; and,
once a day, retention and the orphan sweep (documents.retention).
"""

import logging
import threading
from datetime import datetime

import redis
from django.db import close_old_connections

from dashboard.models import AlertRule
from dashboard.selectors.conditions import Context
from dashboard.services import alerts, snapshot
from documents.retention import DailyDuties
from exora.leadership import Leadership
from processing.brokers import broker_queues
from processing.housekeeping import Housekeeping
from processing.identity import database_now

logger = logging.getLogger(__name__)

LEADER_KEY = "exora:alerts-leader"


def run_round(now: datetime | None = None) -> list[alerts.Event]:
    """Refresh the figures, evaluate every rule, notify, and note that a round completed."""
    now = now or database_now()  # the clock heartbeats are stamped with
    # Fresh figures for the rules; viewers and /metrics share them until the next refresh.
    current = snapshot.fresh(now)
    context = Context(data=current.data, broker=broker_queues())
    events = alerts.evaluate(context, now, exclude={AlertRule.Kind.WATCHDOG})
    snapshot.mark_alerts_evaluated(now)
    # The round completed: clear the watchdog at once rather than at the next page view.
    events += alerts.evaluate(Context(data=current.data, evaluated_at=now), now, kinds={AlertRule.Kind.WATCHDOG})
    alerts.notify_all(events)
    return events


def leadership(client: "redis.Redis[bytes]", interval: float) -> Leadership:
    """The lock the evaluators take turns on."""
    return Leadership(client, LEADER_KEY, interval)


def run_forever(stopping: threading.Event, leader: Leadership | None, interval: float) -> None:
    """Every `interval` seconds while this process leads (`leader` None: always lead), evaluate
    the alert rules, then processing's housekeeping."""
    housekeeping = Housekeeping()
    daily = DailyDuties()
    while not stopping.is_set():
        try:
            close_old_connections()
            if leader is None or leader.hold():
                events = run_round()
                if events:
                    logger.info("alerts: %s", ", ".join(f"{e.kind} #{e.alert_id}" for e in events))
                housekeeping.run_round()
                daily.run_when_due()
        except Exception:
            # Redis or the database is down: try again next round; the watchdog tells if it lasts.
            logger.exception("alert round failed; trying again in %.0f s", interval)
        finally:
            close_old_connections()
        stopping.wait(interval)
    if leader is not None:
        try:
            leader.release()
        except Exception:
            logger.warning("could not release the alert leader lock; it expires by itself")
