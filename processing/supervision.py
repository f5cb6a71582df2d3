"""The Dramatiq middleware of a worker process: what keeps its promises while it runs.

`PageMessageIds` records, wherever a page message is enqueued (web or worker), which broker
message reads each page, so recovery can tell a waiting page from one whose message was lost.

`WorkerSupervision` runs two threads in every worker process:
- the lease heartbeat renews the leases of the pages this process is reading (leases.py);
- the recovery loop, run only by the process holding the leader lock in Redis, hands back
  pages of dead workers and re-sends lost messages (recovery.py).
It also loads the extraction vocabularies before the process takes any message.

`WorkerHeartbeat` writes the process's own row every few seconds (heartbeat.py): what the
operators see, and the worker slots the ETA counts.

Settings list these classes, and django_dramatiq builds them while Django is still loading
its apps, before any model can be imported: so the modules that touch rows are imported in
the hooks, which run once the worker has booted.
"""

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

import dramatiq
import psutil
import redis
from django.conf import settings
from django.db import close_old_connections, connections
from django.utils import timezone
from dramatiq.broker import MessageProxy
from dramatiq.middleware import Middleware

from exora.leadership import Leadership
from processing import lanes

logger = logging.getLogger(__name__)

LEADER_KEY = "exora:recovery-leader"


def _guarded(work: Callable[[], object], what: str) -> None:
    """Run one round; a lost database or Redis connection must not kill the thread."""
    try:
        close_old_connections()  # a dropped database connection is replaced here
        work()
    except Exception:
        logger.exception("%s failed; trying again next round", what)
    finally:
        close_old_connections()


class PageMessageIds(Middleware):
    def after_enqueue(self, broker: dramatiq.Broker, message: dramatiq.Message[Any], delay: int | None) -> None:
        """Remember the broker's id of the message that reads pages (a retry gets a new one)."""
        if message.actor_name not in lanes.PAGE_ACTORS:
            return
        from processing.dispatch import message_pages  # see the module's docstring
        from processing.models import Page

        document_id, numbers = message_pages(message.args)
        broker_id = message.options.get("redis_message_id", message.message_id)
        Page.objects.filter(document_id=document_id, number__range=(numbers[0], numbers[-1])).update(
            message_id=broker_id
        )


class WorkerSupervision(Middleware):
    def __init__(self) -> None:
        self.stopping = threading.Event()
        self.threads: list[threading.Thread] = []

    def after_process_boot(self, broker: dramatiq.Broker) -> None:
        """Load the extraction vocabularies (4-7 s) before this process takes any message, so
        that no document's extraction pays for it; they stay for the life of the process."""
        from processing.engine.passes import vocabulary

        try:
            vocabulary.warm()
        except Exception:
            # Pages can still be read; the extraction loads them again, and fails and retries
            # there with a reason, rather than this process never starting.
            logger.exception("could not load the extraction vocabularies at start-up")

    def after_worker_thread_boot(self, broker: dramatiq.Broker, thread: threading.Thread) -> None:
        """Open this thread's connection to the storage before it takes a message: with S3 its
        client (credentials, endpoints, models) costs 0.1-0.2 s, which a thread pays once."""
        from processing import files

        _guarded(files.warm_storage, "opening the storage")

    def after_worker_boot(self, broker: dramatiq.Broker, worker: dramatiq.Worker) -> None:
        self.stopping.clear()
        self.threads = [threading.Thread(target=self._renew_leases, name="exora-leases", daemon=True)]
        if settings.EXORA_RECOVERY_INTERVAL_SECONDS > 0:
            self.threads.append(
                threading.Thread(target=self._recovery_loop, args=(broker,), name="exora-recovery", daemon=True)
            )
        for thread in self.threads:
            thread.start()

    def before_worker_shutdown(self, broker: dramatiq.Broker, worker: dramatiq.Worker) -> None:
        self.stopping.set()

    def _renew_leases(self) -> None:
        from processing import leases  # see the module's docstring

        while not self.stopping.wait(settings.EXORA_LEASE_SECONDS / 3):
            _guarded(leases.renew_held, "lease renewal")

    def _recovery_loop(self, broker: dramatiq.Broker) -> None:
        from processing import recovery  # see the module's docstring

        interval = settings.EXORA_RECOVERY_INTERVAL_SECONDS
        # With the in-memory broker (one process) there is no one else to elect.
        leadership = None
        if settings.EXORA_BROKER != "stub":
            leadership = Leadership(redis.Redis.from_url(settings.REDIS_URL), LEADER_KEY, interval)

        def recover_if_leader() -> None:
            if leadership is None or leadership.hold():
                recovery.recover(broker)

        while not self.stopping.wait(interval):
            _guarded(recover_if_leader, "recovery round")
        if leadership is not None:
            _guarded(leadership.release, "releasing the recovery lock")


class WorkerHeartbeat(Middleware):
    def __init__(self) -> None:
        self.stopping = threading.Event()
        self.thread: threading.Thread | None = None
        self.identity: Any = None  # a heartbeat.Identity once the worker has booted
        self._lock = threading.Lock()
        # message id -> what it is about; several worker threads start and end messages.
        self._running: dict[str, dict[str, Any]] = {}
        self._done = 0

    # --- The worker's life -----------------------------------------------------------------

    def after_worker_boot(self, broker: dramatiq.Broker, worker: dramatiq.Worker) -> None:
        from processing import heartbeat  # see the module's docstring

        queues = worker.consumer_whitelist or {q for q in broker.get_declared_queues() if not q.endswith(".DQ")}
        self.identity = heartbeat.Identity.of_this_process(sorted(queues), worker.worker_threads)
        self.stopping.clear()
        self.thread = threading.Thread(target=self._beat_forever, name="exora-heartbeat", daemon=True)
        self.thread.start()

    def before_worker_shutdown(self, broker: dramatiq.Broker, worker: dramatiq.Worker) -> None:
        from processing import heartbeat  # see the module's docstring

        self.stopping.set()
        if self.thread is not None:
            self.thread.join(timeout=5)
        if self.identity is not None:
            identity = self.identity
            _guarded(lambda: heartbeat.record_stop(identity), "recording the stop")

    # --- What it is working on ---------------------------------------------------------------

    def before_process_message(self, broker: dramatiq.Broker, message: MessageProxy) -> None:
        args = list(message.args)
        work = {
            "actor": message.actor_name,
            "document": str(args[0]) if args else "",
            "page": args[1] if len(args) > 1 and isinstance(args[1], int) else None,
            "since": timezone.now().isoformat(),
        }
        with self._lock:
            self._running[message.message_id] = work

    def after_process_message(
        self,
        broker: dramatiq.Broker,
        message: MessageProxy,
        *,
        result: object = None,
        exception: BaseException | None = None,
    ) -> None:
        with self._lock:
            self._running.pop(message.message_id, None)
            self._done += 1

    def after_skip_message(self, broker: dramatiq.Broker, message: MessageProxy) -> None:
        with self._lock:
            self._running.pop(message.message_id, None)

    # --- The heartbeat thread ----------------------------------------------------------------

    def _beat_forever(self) -> None:
        from processing import heartbeat  # see the module's docstring

        process = psutil.Process()
        interval = max(settings.EXORA_WORKER_HEARTBEAT_SECONDS, 0.5)

        def beat() -> None:
            with self._lock:
                current = heartbeat.Beat(current=list(self._running.values()), messages_done=self._done)
            heartbeat.record_heartbeat(self.identity, current, process)

        try:
            # The first beat at once: a worker shows on the dashboard as soon as it is ready.
            while True:
                started = time.monotonic()
                _guarded(beat, "worker heartbeat")
                if self.stopping.wait(max(interval - (time.monotonic() - started), 0.1)):
                    return
        finally:
            # This thread's own database connection: left open, it would outlive the thread.
            connections.close_all()
