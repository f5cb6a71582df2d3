"""`rundramatiq` sized by the settings: one process per core, one thread each by default."""

import os
from typing import Any

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError, CommandParser

from processing import lanes

# How long an idle worker's consumers wait for a message before looking again (milliseconds).
# Redis is polled: the pause is also the delay before a freed worker takes its next message,
# 0.44 s on average between two OCR pages (13 % of a page) at Dramatiq's default of 1000 ms,
# 0.11 s at 100 ms, for a tenth of a core per idle worker process instead of 2 %. RabbitMQ
# pushes each message to a waiting consumer at once: the wait only paces idle housekeeping.
IDLE_WAIT_MS = {"redis": 100, "rabbitmq": 1000, "stub": 100}


class Command(BaseCommand):
    help = "Run the Dramatiq workers with EXORA_WORKERS processes of EXORA_WORKER_THREADS threads."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--queues",
            nargs="+",
            metavar="QUEUE",
            help=f"Take messages of these queues only (default: all of {', '.join(lanes.QUEUES)}); "
            "e.g. the page lanes on OCR hosts and the documents queue elsewhere.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        queues: list[str] | None = options["queues"]
        unknown = sorted(set(queues or ()) - set(lanes.QUEUES))
        if unknown:
            raise CommandError(f"unknown queue(s) {', '.join(unknown)}; the queues are {', '.join(lanes.QUEUES)}")
        # Dramatiq's default of 8 threads per process would run 8 Tesseracts per core. A worker
        # takes one message at a time, so the next page goes to whichever worker frees up
        # first instead of waiting behind a busy one.
        os.environ.setdefault("dramatiq_queue_prefetch", "1")
        os.environ.setdefault("dramatiq_worker_timeout", str(IDLE_WAIT_MS[settings.EXORA_BROKER]))
        call_command(
            "rundramatiq",
            processes=settings.EXORA_WORKERS,
            threads=settings.EXORA_WORKER_THREADS,
            queues=queues or [],
            # On SIGTERM a worker finishes the page it reads; one that does not in time is
            # killed, and its page recovered when its lease runs out.
            worker_shutdown_timeout=(settings.EXORA_PAGE_TIMEOUT + 10) * 1000,
        )
