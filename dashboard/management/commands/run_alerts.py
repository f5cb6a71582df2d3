"""`manage.py run_alerts`: evaluate the alert rules every EXORA_ALERT_INTERVAL_SECONDS.

Safe to run on several hosts: a Redis lock lets one evaluate at a time (see
dashboard/services/evaluator.py). `--once` runs a single round and exits (cron, tests).
"""

import os
import signal
import threading
from argparse import ArgumentParser
from typing import Any

import redis
from django.conf import settings
from django.core.management.base import BaseCommand

from dashboard.services import evaluator


class Command(BaseCommand):
    help = "Evaluate the alert rules periodically (one leader at a time) and notify."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--once", action="store_true", help="Run one round and exit.")
        parser.add_argument("--interval", type=float, default=None, help="Seconds between rounds.")

    def handle(self, *args: Any, once: bool = False, interval: float | None = None, **options: Any) -> None:
        if once:
            events = evaluator.run_round()
            self.stdout.write(f"{len(events)} alert event(s)")
            return
        stopping = threading.Event()
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda *_: stopping.set())
        interval = interval or settings.EXORA_ALERT_INTERVAL_SECONDS
        # With the stub broker (tests, a single machine without Redis) there is no one to elect.
        leader = None
        if settings.EXORA_BROKER != "stub":
            leader = evaluator.leadership(redis.Redis.from_url(settings.REDIS_URL), interval)
        self.stdout.write(f"alert evaluator {settings.EXORA_NODE_NAME}:{os.getpid()} started")
        evaluator.run_forever(stopping, leader, interval)
