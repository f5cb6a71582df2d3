"""`rundramatiq` sized by the settings: one process per core, one thread each by default."""

import os
from typing import Any

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Run the Dramatiq workers with EXORA_WORKERS processes of EXORA_WORKER_THREADS threads."

    def handle(self, *args: Any, **options: Any) -> None:
        # Dramatiq's default of 8 threads per process would run 8 Tesseracts per core. A worker
        # takes one message at a time, so the next page goes to whichever worker frees up
        # first instead of waiting behind a busy one.
        os.environ.setdefault("dramatiq_queue_prefetch", "1")
        # A worker busy with a message fetches nothing, and its consumers back off meanwhile, up
        # to this many milliseconds (Dramatiq's default, 1000): the pause before the worker
        # takes its next message once it is free: 0.44 s on average between two OCR pages (13 %
        # of a page) at 1000 ms, 0.11 s at 100 ms. The price is polling Redis more often while
        # idle: a tenth of a core per worker process instead of 2 %.
        os.environ.setdefault("dramatiq_worker_timeout", "100")
        call_command(
            "rundramatiq",
            processes=settings.EXORA_WORKERS,
            threads=settings.EXORA_WORKER_THREADS,
            # On SIGTERM a worker finishes the page it reads; one that does not in time is
            # killed, and its page recovered when its lease runs out.
            worker_shutdown_timeout=(settings.EXORA_PAGE_TIMEOUT + 10) * 1000,
        )
