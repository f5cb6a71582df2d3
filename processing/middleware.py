"""Dramatiq middleware that keeps a worker process's promises while it runs.

It records which broker message reads each page, wherever a message is enqueued; and in every
worker process it runs two background threads:
- the heartbeat renews the leases of the pages this process is reading;
- the recovery loop, which only the process holding the leader lock in Redis runs, hands
  back pages of dead workers and re-sends lost messages (processing/recovery.py).
"""

import logging
import threading

from django.conf import settings
from django.db import close_old_connections
from dramatiq.middleware import Middleware

from exora.leadership import hold_leadership

logger = logging.getLogger(__name__)

LEADER_KEY = "exora:recovery-leader"


class WorkerSupervision(Middleware):
    def __init__(self) -> None:
        self.stopping = threading.Event()
        self.threads: list[threading.Thread] = []

    def after_worker_boot(self, broker, worker) -> None:
        self.stopping.clear()
        self.threads = [threading.Thread(target=self._heartbeat, name="exora-heartbeat", daemon=True)]
        if settings.EXORA_RECOVERY_INTERVAL_SECONDS > 0:
            self.threads.append(
                threading.Thread(target=self._recovery_loop, args=(broker,), name="exora-recovery", daemon=True)
            )
        for thread in self.threads:
            thread.start()

    def after_process_boot(self, broker) -> None:
        """Load the extraction vocabularies (4-7 s) before this process takes any message, so
        that no document's extraction pays for it; they stay for the life of the process."""
        from processing.passes import vocabulary  # apps are not loaded when this is built

        try:
            vocabulary.warm()
        except Exception:
            # Pages can still be read; the extraction loads them again, and fails and retries
            # there with a reason, rather than this process never starting.
            logger.exception("could not load the extraction vocabularies at start-up")

    def before_worker_shutdown(self, broker, worker) -> None:
        self.stopping.set()

    def after_enqueue(self, broker, message, delay) -> None:
        """Remember the broker's id of the message that reads pages (a retry gets a new one)."""
        from processing.actors import PAGE_ACTORS

        if message.actor_name not in {actor.actor_name for actor in PAGE_ACTORS.values()}:
            return
        from documents.models import Page
        from processing.dispatch import pages_of

        document_id, numbers = pages_of(message.args)
        broker_id = message.options.get("redis_message_id", message.message_id)
        Page.objects.filter(document_id=document_id, number__range=(numbers[0], numbers[-1])).update(
            message_id=broker_id
        )

    def _heartbeat(self) -> None:
        from processing import leases  # models load after this middleware is built

        while not self.stopping.wait(settings.EXORA_LEASE_SECONDS / 3):
            self._guarded(leases.renew_held)

    def _recovery_loop(self, broker) -> None:
        from processing import leases

        owner = leases.worker_id()
        interval = settings.EXORA_RECOVERY_INTERVAL_SECONDS
        while not self.stopping.wait(interval):
            self._guarded(lambda: self._recover_if_leader(broker, owner, interval))

    def _recover_if_leader(self, broker, owner: str, interval: float) -> None:
        if hasattr(broker, "client") and not hold_leadership(broker.client, LEADER_KEY, owner, interval):
            return
        from processing import recovery

        recovery.recover(broker)

    @staticmethod
    def _guarded(work) -> None:
        """Run one round; a lost database or Redis connection must not kill the thread."""
        try:
            close_old_connections()  # a dropped database connection is replaced here
            work()
        except Exception:
            logger.exception("supervision round failed; trying again next round")
        finally:
            close_old_connections()
