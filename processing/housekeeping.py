"""Processing's periodic duties that no worker can do for itself, because they are about the
workers: run by the alert evaluator's process (`manage.py run_alerts`), one leader at a time,
beside the alert rules.

- When the workers alive change (the last one stops, or one comes back), every queued
  document's owner is told: "waiting for a worker", or an ETA again. A worker that dies
  cannot tell them.
- Rows of workers gone for a week are forgotten, so the table stays small.
"""

from documents import lifecycle
from processing import heartbeat
from processing.identity import database_now
from processing.queue import workers_alive

FORGET_EVERY_ROUNDS = 240  # about hourly at the default interval of 15 s


class Housekeeping:
    def __init__(self) -> None:
        self.workers_seen: tuple[int, frozenset[str]] | None = None
        self.rounds = 0

    def run_round(self) -> None:
        self.tell_owners_when_workers_change()
        self.rounds += 1
        if self.rounds % FORGET_EVERY_ROUNDS == 0:
            heartbeat.forget_old_workers()

    def tell_owners_when_workers_change(self) -> bool:
        """Publish the queue when the worker slots alive, or the page queues they read, are not
        what the previous round saw; True when it did."""
        alive = workers_alive(database_now())
        seen = (alive.slots, alive.queues)
        changed = self.workers_seen is not None and seen != self.workers_seen
        if changed:
            lifecycle.documents_queue_moved()
        self.workers_seen = seen
        return changed
