"""Dramatiq middleware: each worker process writes its own heartbeat row for the dashboard.

Every `EXORA_WORKER_HEARTBEAT_SECONDS` a thread writes a `WorkerProcess` row with the
process's queues, threads, RSS, CPU and the messages it is running (tracked in
before/after_process_message). The dashboard derives alive / stale / dead from the age of
the last heartbeat, so a killed process shows as dead without having to say anything.

Settings list this middleware before Django's apps are ready: models are imported lazily.
"""

import logging
import threading
import time

from django.conf import settings
from django.db import close_old_connections, connections
from django.utils import timezone
from dramatiq.middleware import Middleware

logger = logging.getLogger(__name__)


class WorkerHeartbeat(Middleware):
    def __init__(self) -> None:
        self.stopping = threading.Event()
        self.thread: threading.Thread | None = None
        self.identity = None  # a heartbeats.Identity once the worker has booted
        self._lock = threading.Lock()
        # message id -> what it is about; several worker threads start and end messages.
        self._running: dict[str, dict] = {}
        self._done = 0

    # --- The worker's life -----------------------------------------------------------------

    def after_worker_boot(self, broker, worker) -> None:
        from dashboard.services import heartbeats  # models load after this middleware is built

        queues = worker.consumer_whitelist or {q for q in broker.get_declared_queues() if not q.endswith(".DQ")}
        self.identity = heartbeats.Identity.of_this_process(sorted(queues), worker.worker_threads)
        self.stopping.clear()
        self.thread = threading.Thread(target=self._beat_forever, name="exora-dashboard-heartbeat", daemon=True)
        self.thread.start()

    def before_worker_shutdown(self, broker, worker) -> None:
        self.stopping.set()
        if self.thread is not None:
            self.thread.join(timeout=5)
        if self.identity is not None:
            from dashboard.services import heartbeats

            self._guarded(lambda: heartbeats.record_stop(self.identity))

    # --- What it is working on ---------------------------------------------------------------

    def before_process_message(self, broker, message) -> None:
        args = list(message.args)
        work = {
            "actor": message.actor_name,
            "document": str(args[0]) if args else "",
            "page": args[1] if len(args) > 1 and isinstance(args[1], int) else None,
            "since": timezone.now().isoformat(),
        }
        with self._lock:
            self._running[message.message_id] = work

    def after_process_message(self, broker, message, *, result=None, exception=None) -> None:
        with self._lock:
            self._running.pop(message.message_id, None)
            self._done += 1

    def after_skip_message(self, broker, message) -> None:
        with self._lock:
            self._running.pop(message.message_id, None)

    # --- The heartbeat thread ----------------------------------------------------------------

    def _beat_forever(self) -> None:
        import psutil

        process = psutil.Process()
        interval = max(settings.EXORA_WORKER_HEARTBEAT_SECONDS, 0.5)
        try:
            # The first beat at once: a worker shows on the dashboard as soon as it is ready.
            while True:
                started = time.monotonic()
                self._guarded(lambda: self._beat(process))
                if self.stopping.wait(max(interval - (time.monotonic() - started), 0.1)):
                    return
        finally:
            # This thread's own database connection: left open, it would outlive the thread.
            connections.close_all()

    def _beat(self, process) -> None:
        from dashboard.services import heartbeats

        with self._lock:
            beat = heartbeats.Beat(current=list(self._running.values()), messages_done=self._done)
        heartbeats.record_heartbeat(self.identity, beat, process)

    @staticmethod
    def _guarded(work) -> None:
        """One write; a lost database connection must not kill the thread or the shutdown."""
        try:
            close_old_connections()
            work()
        except Exception:
            logger.exception("dashboard heartbeat failed; trying again next beat")
        finally:
            close_old_connections()
