"""The periodic alert evaluator (`manage.py run_alerts`), one leader at a time.

It runs as its own process rather than as a thread in the workers: the alerts that matter
most are about the workers (none alive, all stuck, out of memory), and a thread inside them
would die, or hang, with them. Several copies may run (one per host, for availability); a
Redis lock elects the one that evaluates, and another takes over within a few intervals
when the leader dies. The watchdog rule checks the evaluator from outside (see
services/snapshot.py), because a dead evaluator cannot report itself.

The leader also runs processing's own periodic duties about the workers
(processing.housekeeping), for the same reason: a worker cannot report its own death.
"""

import logging
import threading
from datetime import datetime

from django.conf import settings
from django.db import close_old_connections
from django.utils import timezone

from dashboard.models import AlertRule
from dashboard.selectors.conditions import Context
from dashboard.selectors.queues import RedisClient
from dashboard.services import alerts, snapshot
from exora import leadership
from processing.housekeeping import Housekeeping

logger = logging.getLogger(__name__)

LEADER_KEY = "exora:alerts-leader"


def run_round(now: datetime | None = None) -> list[alerts.Event]:
    """Refresh the figures, evaluate every rule, notify, and note that a round completed."""
    now = now or timezone.now()
    client, namespace = snapshot.redis_client()
    # Fresh figures for the rules; viewers and /metrics share them until the next refresh.
    current = snapshot.fresh(now)
    context = Context(data=current.data, client=client, namespace=namespace)
    events = alerts.evaluate(context, now, exclude={AlertRule.Kind.WATCHDOG})
    snapshot.mark_alerts_evaluated(now)
    # The round completed: clear the watchdog at once rather than at the next page view.
    events += alerts.evaluate(Context(data=current.data, evaluated_at=now), now, kinds={AlertRule.Kind.WATCHDOG})
    alerts.notify_all(events)
    return events


def hold_leadership(client: RedisClient, owner: str, interval: float) -> bool:
    return leadership.hold_leadership(client, LEADER_KEY, owner, interval)


def release_leadership(client: RedisClient, owner: str) -> None:
    leadership.release_leadership(client, LEADER_KEY, owner)


def run_forever(
    stopping: threading.Event, owner: str, client: RedisClient | None = None, interval: float | None = None
) -> None:
    """Every `interval` seconds while this process leads (`client` None: always lead), evaluate
    the alert rules, then processing's housekeeping."""
    interval = interval or settings.EXORA_ALERT_INTERVAL_SECONDS
    housekeeping = Housekeeping()
    while not stopping.is_set():
        try:
            close_old_connections()
            if client is None or hold_leadership(client, owner, interval):
                events = run_round()
                if events:
                    logger.info("alerts: %s", ", ".join(f"{e.kind} #{e.alert_id}" for e in events))
                housekeeping.run_round()
        except Exception:
            # Redis or the database is down: try again next round; the watchdog tells if it lasts.
            logger.exception("alert round failed; trying again in %.0f s", interval)
        finally:
            close_old_connections()
        stopping.wait(interval)
    if client is not None:
        try:
            release_leadership(client, owner)
        except Exception:
            logger.warning("could not release the alert leader lock; it expires by itself")
