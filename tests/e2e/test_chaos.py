"""Nothing lost, nothing stuck: real worker processes killed, Redis flushed, PostgreSQL cut off.

Each test uploads a batch of 20 real scanned documents (210 pages, 1 to 20 pages each)
through the API of a real web server (runweb), lets real `runworkers` processes read them over the real
Redis and PostgreSQL, breaks something in the middle, and checks that every document still
completes with every page stored exactly once. The workers run with a 6 s lease and a 1 s
recovery interval (tests/e2e/conftest.py): production uses 30 s and 5 s.
"""

import os
import signal
import time

import pytest
import redis
from django.contrib.auth import get_user_model
from django.db import connection

from documents.models import Document
from processing import identity
from processing.models import Page
from tests.factories import api_token, scanned_pdf

pytestmark = [pytest.mark.e2e, pytest.mark.slow, pytest.mark.chaos]

SIZES = list(range(1, 21))  # 20 documents, 210 pages
RECOVERY_LIMIT_SECONDS = 90


@pytest.fixture
def api(api_for):
    user = get_user_model().objects.create_user("chaos", password="correct-horse-battery")
    return api_for(api_token(user))


def upload_batch(api, sizes: list[int] = SIZES) -> dict[str, int]:
    """Upload one scanned PDF per size; returns {document id: document number}."""
    uploaded = {}
    for number, size in enumerate(sizes, start=1):
        pages = [[f"Record {number} page {page} of the batch"] for page in range(1, size + 1)]
        status, body = api.upload(f"record-{number:02d}.pdf", scanned_pdf(pages, height_in=1.0))
        assert status == 201, body
        uploaded[body["id"]] = number
    return uploaded


def wait_for(condition, timeout: float, what: str, logs) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}\n\n{logs()}")
        time.sleep(0.25)


def pages_done() -> int:
    return Page.objects.filter(status=Page.Status.DONE).count()


def all_finished(ids) -> bool:
    return not Document.objects.filter(id__in=ids).exclude(status__in=Document.FINISHED).exists()


def assert_every_page_read_once(uploaded: dict[str, int], logs) -> None:
    for document in Document.objects.filter(id__in=uploaded):
        number = uploaded[str(document.id)]
        size = SIZES[number - 1]
        assert document.status == Document.Status.COMPLETED, f"{document.original_name}: {document.error}\n{logs()}"
        assert document.page_count == size
        assert document.pages_done == size
        pages = list(document.pages.order_by("number"))
        assert [p.number for p in pages] == list(range(1, size + 1))
        for page in pages:
            assert page.status == Page.Status.DONE
            assert f"Record {number} page {page.number} " in page.text, (document.original_name, page.text)
    assert not Page.objects.filter(status=Page.Status.RUNNING).exists()


def running_pages_of(pool) -> list[Page]:
    pids = set(pool.worker_pids())
    running = Page.objects.filter(status=Page.Status.RUNNING).exclude(lease_owner="")
    return [page for page in running if identity.pid_of(page.lease_owner) in pids]


def wait_for_running_pages(pool, uploaded: dict[str, int], logs) -> list[Page]:
    """The pages the pool is reading, as the query that found some saw them (a small page may
    be stored before a second query); none when the batch finished first."""
    running: list[Page] = []

    def found() -> bool:
        running[:] = running_pages_of(pool)
        return bool(running) or all_finished(uploaded)

    wait_for(found, 120, "a page being read", logs)
    return running


def restart_when_down(pool, logs) -> None:
    """rundramatiq exits when one of its processes dies; a supervisor starts it again."""
    wait_for(lambda: not pool.running, 60, "the worker pool to notice its dead process", logs)
    pool.stop()
    pool.start()


def test_killed_workers_lose_no_page(api, worker_pool, e2e_processes):
    # GIVEN a batch of 20 documents being read by two worker processes
    logs = e2e_processes.logs
    uploaded = upload_batch(api)

    # WHEN a worker process is SIGKILLed in the middle of a page, three times
    killed: list[tuple[Page, float]] = []
    for _ in range(3):
        running = wait_for_running_pages(worker_pool, uploaded, logs)
        if not running:
            break
        page = running[0]
        os.kill(identity.pid_of(page.lease_owner), signal.SIGKILL)
        killed.append((page, time.time()))
        restart_when_down(worker_pool, logs)
        done_before = pages_done()
        wait_for(lambda n=done_before: pages_done() >= n + 10 or all_finished(uploaded), 120, "progress", logs)

    assert len(killed) >= 2, "the batch finished before the workers could be killed"

    # THEN every document completes, with every page read and stored exactly once
    wait_for(lambda: all_finished(uploaded), 420, "every document to finish", logs)
    assert_every_page_read_once(uploaded, logs)
    # AND each page a dead worker held was recovered in time
    for page, killed_at in killed:
        page.refresh_from_db()
        assert page.done_at is not None, page  # narrows the type (the assertions below read it)
        assert page.crash_count >= 1 or page.done_at.timestamp() < killed_at, page
        assert page.done_at.timestamp() - killed_at < RECOVERY_LIMIT_SECONDS
    assert "held by crashed worker" in worker_pool.process.log_path.read_text()


def test_redis_flushed_mid_batch_loses_no_document(api, worker_pool, e2e_processes, e2e_redis):
    # GIVEN a batch being read
    logs = e2e_processes.logs
    uploaded = upload_batch(api)
    wait_for(lambda: pages_done() >= 30, 180, "30 pages read", logs)

    # WHEN Redis loses every message (as a restart without persistence would)
    redis.Redis.from_url(e2e_redis).flushdb()

    # THEN the lost work is found in the database and sent again, and everything completes
    wait_for(lambda: all_finished(uploaded), 420, "every document to finish", logs)
    assert_every_page_read_once(uploaded, logs)
    assert "was lost; sending again" in worker_pool.process.log_path.read_text()


def test_database_connections_cut_mid_batch(api, worker_pool, e2e_processes):
    # GIVEN a batch being read
    logs = e2e_processes.logs
    uploaded = upload_batch(api)
    wait_for(lambda: pages_done() >= 20, 180, "20 pages read", logs)

    # WHEN every other connection to the database is terminated, three times
    for _ in range(3):
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
            assert cursor.fetchall(), "no worker connection was there to cut"
        time.sleep(3)

    # THEN the workers reconnect and no document is left running
    wait_for(lambda: all_finished(uploaded), 420, "every document to finish", logs)
    assert_every_page_read_once(uploaded, logs)


def test_sigterm_finishes_running_pages_and_loses_nothing(api, worker_pool, e2e_processes):
    # GIVEN a batch being read, and the pages being read at this moment
    logs = e2e_processes.logs
    uploaded = upload_batch(api)
    in_flight = wait_for_running_pages(worker_pool, uploaded, logs)
    assert in_flight, "the batch finished before the workers could be stopped"

    # WHEN the workers are asked to stop (SIGTERM), then started again
    worker_pool.process.popen.send_signal(signal.SIGTERM)
    wait_for(lambda: not worker_pool.running, 120, "the workers to stop", logs)

    # THEN the pages they were reading were finished, not abandoned
    for page in in_flight:
        page.refresh_from_db()
        assert page.status == Page.Status.DONE, page
        assert page.crash_count == 0
    # AND after a restart everything completes
    worker_pool.stop()
    worker_pool.start()
    wait_for(lambda: all_finished(uploaded), 420, "every document to finish", logs)
    assert_every_page_read_once(uploaded, logs)


def test_poison_document_is_quarantined_after_three_crashes(api, worker_pool, e2e_processes):
    # GIVEN a one-page document whose page kills the worker that reads it (we stand in for
    # the crash with SIGKILL), uploaded among good ones
    logs = e2e_processes.logs
    good = upload_batch(api, sizes=[2, 3])
    # A full page of text: reading it takes seconds, so the kill always lands while it is read.
    dense_page = [f"Line {n}: this page crashes every worker that reads it, again and again." for n in range(40)]
    status, body = api.upload("poison.pdf", scanned_pdf([dense_page], height_in=11.0))
    assert status == 201
    poison = Document.objects.get(id=body["id"])

    # WHEN every worker that takes its page dies
    killed: set[str] = set()

    def taken_by_a_live_worker() -> Page | None:
        return poison.pages.filter(status=Page.Status.RUNNING).exclude(lease_owner__in=killed).first()

    for _ in range(3):
        wait_for(
            lambda: taken_by_a_live_worker() or all_finished([poison.id]), 120, "a worker to take the poison page", logs
        )
        page = taken_by_a_live_worker()
        if page is None:
            break
        killed.add(page.lease_owner)
        os.kill(identity.pid_of(page.lease_owner), signal.SIGKILL)
        restart_when_down(worker_pool, logs)

    # THEN the document is set aside with a reason after three crashes, and the others complete
    wait_for(lambda: all_finished([poison.id, *good]), 180, "every document to finish", logs)
    poison.refresh_from_db()
    assert poison.status == Document.Status.FAILED
    assert "stopped the worker reading it 3 times" in poison.error
    assert set(Document.objects.filter(id__in=good).values_list("status", flat=True)) == {"completed"}
