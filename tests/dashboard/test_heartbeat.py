"""The worker heartbeat middleware in this process, and liveness from the heartbeat's age.
(A real worker process that is killed: tests/e2e/test_dashboard_workers.py.)"""

import time
from datetime import timedelta
from types import SimpleNamespace
from typing import cast

import dramatiq
import pytest
from django.test import override_settings
from django.utils import timezone
from dramatiq.broker import MessageProxy

from dashboard.selectors import workers
from documents.models import Document
from processing import identity
from processing.models import Page, WorkerProcess
from processing.supervision import WorkerHeartbeat
from tests.dashboard.conftest import make_document


def wait_for(condition, timeout: float = 10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError("condition not met in time")


@override_settings(EXORA_WORKER_HEARTBEAT_SECONDS=0.2)
def test_the_middleware_writes_its_row_with_current_work_and_marks_a_clean_stop(transactional_db):
    # GIVEN the middleware in a booted worker reading "pages" with 2 threads
    middleware = WorkerHeartbeat()
    broker = dramatiq.get_broker()
    # A stand-in for a booted worker: the middleware reads only these two attributes.
    worker = cast(dramatiq.Worker, SimpleNamespace(consumer_whitelist={"pages"}, worker_threads=2))
    middleware.after_worker_boot(broker, worker)
    name = identity.worker_name()
    try:
        # THEN its row appears at once, alive, with its memory
        row = wait_for(lambda: WorkerProcess.objects.filter(name=name).first())
        assert (row.queues, row.threads, row.stopped_at) == (["pages"], 2, None)
        assert row.rss_bytes > 10_000_000 and row.memory_limit_bytes >= row.rss_bytes

        # WHEN it starts reading page 3 of a document
        message = MessageProxy(
            dramatiq.Message(
                queue_name="pages", actor_name="read_document_page", args=("doc-1", 3), kwargs={}, options={}
            )
        )
        middleware.before_process_message(broker, message)
        # THEN the next beats say so, and the heartbeat moves on
        first_beat = row.last_heartbeat
        row = wait_for(lambda: WorkerProcess.objects.filter(name=name, current__0__page=3).first())
        assert row.current[0]["document"] == "doc-1" and row.current[0]["actor"] == "read_document_page"
        assert row.last_heartbeat > first_beat
        assert workers.liveness(row, timezone.now()) == workers.ALIVE

        # WHEN it is done THEN it is idle again, one message done
        middleware.after_process_message(broker, message)
        wait_for(lambda: WorkerProcess.objects.filter(name=name, current=[], messages_done=1).exists())
    finally:
        # WHEN the worker shuts down cleanly THEN the row says stopped (not dead)
        middleware.before_worker_shutdown(broker, worker)
    row = WorkerProcess.objects.get(name=name)
    assert row.stopped_at is not None
    assert workers.liveness(row, timezone.now() + timedelta(hours=1)) == workers.STOPPED


@pytest.mark.django_db
@override_settings(EXORA_WORKER_STALE_SECONDS=15, EXORA_WORKER_DEAD_SECONDS=60)
def test_liveness_by_heartbeat_age_and_what_a_dead_worker_held(user):
    now = timezone.now()

    def worker(name: str, silent_for: float, current=()) -> WorkerProcess:
        return WorkerProcess.objects.create(
            name=name, host=name.split(":")[0], pid=int(name.split(":")[1]), queues=["pages"],
            started_at=now - timedelta(hours=1), last_heartbeat=now - timedelta(seconds=silent_for),
            current=list(current),
        )  # fmt: skip

    # GIVEN a dead worker that was reading pages 1 and 2 of a document: page 1 has been read
    # since by another worker, page 2 is still leased to it
    document = make_document(user, status=Document.Status.READING, pages=3, name="ward.pdf")
    Page.objects.filter(document=document, number=1).update(status=Page.Status.DONE)
    Page.objects.filter(document=document, number=2).update(
        status=Page.Status.RUNNING, lease_owner="h:3", lease_expires_at=now - timedelta(seconds=10)
    )
    worker("h:1", 2)
    worker("h:2", 30)
    reading = [{"actor": "read_document_page", "document": str(document.id), "page": n} for n in (1, 2)]
    worker("h:3", 120, current=reading)  # two threads, a page each, when it went silent

    rows = {row["name"]: row for row in workers.workers_overview(now)}

    # THEN alive, stale and dead by the age of the last heartbeat
    assert {name: row["state"] for name, row in rows.items()} == {"h:1": "alive", "h:2": "stale", "h:3": "dead"}
    # AND the dead one's jobs are listed with what became of them
    held = {h["page"]: h["fate"] for h in rows["h:3"]["held"]}
    assert held == {
        1: "read since by another worker",
        2: "still leased to the dead worker: recovery hands it back when the lease runs out",
    }
    # WHEN recovery hands page 2 back THEN the dashboard says so
    Page.objects.filter(document=document, number=2).update(status=Page.Status.PENDING, lease_owner="")
    rows = {row["name"]: row for row in workers.workers_overview(now)}
    assert {h["page"]: h["fate"] for h in rows["h:3"]["held"]}[2] == "handed back: waiting for a worker"
    assert workers.alive_workers_by_queue(now) == {"pages": 1}
