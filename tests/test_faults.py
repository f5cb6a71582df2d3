"""Faults inside one process: a hung OCR engine, a dead worker's page, messages Redis lost."""

import multiprocessing
import os
import time
from datetime import timedelta

import psutil
import pytest
import redis
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from dramatiq.brokers.redis import RedisBroker

from documents.models import Document
from processing import dispatch, identity, recovery
from processing.engine import ocr, rendering
from processing.engine.errors import TransientError
from processing.models import Page, WorkerProcess
from tests.conftest import drain, running_worker, start_document
from tests.factories import born_digital_pdf, scanned_pdf, shell_script

FAULTS_REDIS_URL = "redis://127.0.0.1:6379/10"


def upload_scan(api_client, lines_per_page: list[list[str]]) -> Document:
    pdf = scanned_pdf(lines_per_page, height_in=1.0)
    response = api_client.post("/api/v1/documents/", {"file": SimpleUploadedFile("scan.pdf", pdf)}, format="multipart")
    assert response.status_code == 201, response.content
    return Document.objects.get(id=response.json()["id"])


def reading_document(api_client, stub_broker, pages: int) -> Document:
    """A document whose pages are planned but not read: the start stage ran, nothing else."""
    document = upload_scan(api_client, [[f"Recovered page {n} reads well"] for n in range(1, pages + 1)])
    for number in start_document(str(document.id)):
        dispatch.send_page(str(document.id), number)
    stub_broker.flush_all()  # the messages are gone: as if Redis lost them
    document.refresh_from_db()
    assert document.status == Document.Status.READING
    return document


@pytest.fixture
def hanging_tesseract(tmp_path, monkeypatch):
    """A `tesseract` that never answers, first on the PATH, standing in for one stuck on a page."""
    script = shell_script(tmp_path / "hangs" / "tesseract", f"echo $$ >> {tmp_path / 'tesseract.pids'}\nexec sleep 300")
    monkeypatch.setenv("PATH", f"{script.parent}:{os.environ['PATH']}")
    return tmp_path / "tesseract.pids"


@pytest.mark.slow
def test_hung_ocr_is_killed_retried_and_failed_with_a_reason(
    api_client, stub_broker, stub_worker, settings, hanging_tesseract
):
    # GIVEN an OCR engine that hangs and a 2-second limit per page
    settings.EXORA_PAGE_TIMEOUT = 2
    document = upload_scan(api_client, [["This page never finishes"]])

    # WHEN the workers run (retries wait about 2, 4 and 8 s)
    started = time.monotonic()
    drain(stub_broker)

    # THEN the page was tried four times, then the document failed saying why
    document.refresh_from_db()
    assert document.status == Document.Status.FAILED
    assert document.error == "Reading the page took longer than 2 s. We tried 4 times."
    assert time.monotonic() - started >= 4 * 2 + 2 + 4  # four runs of 2 s, then the backoffs
    # AND no hung engine was left behind
    started_pids = [int(pid) for pid in hanging_tesseract.read_text().split()]
    assert len(started_pids) == 4
    assert not [pid for pid in started_pids if psutil.pid_exists(pid) and psutil.Process(pid).status() != "zombie"]
    # AND the page is not left claimed
    assert Page.objects.get(document=document).status == Page.Status.PENDING


def worker_row(name: str, *, silent_for: float, stopped: bool = False) -> WorkerProcess:
    """A worker's heartbeat row, as it last wrote it `silent_for` seconds ago."""
    last = timezone.now() - timedelta(seconds=silent_for)
    node, pid = identity.node_of(name), int(name.rsplit(":", 1)[1].split(".")[0])
    return WorkerProcess.objects.create(
        name=name, host=node, pid=pid, started_at=last - timedelta(hours=1), last_heartbeat=last,
        stopped_at=last if stopped else None,
    )  # fmt: skip


def died_on_a_live_host(name: str) -> str:
    """A worker that died while its host kept working: a sibling on its node beats now."""
    worker_row(name, silent_for=40)
    worker_row(f"{identity.node_of(name)}:9999.sibling", silent_for=1)
    return name


def test_page_of_a_dead_worker_is_handed_back_and_read(api_client, stub_broker, transactional_db):
    # GIVEN a page claimed by a worker that died on a host that lives on: its lease ran out
    document = reading_document(api_client, stub_broker, pages=2)
    owner = died_on_a_live_host("live-host:4242.a1")
    Page.objects.filter(document=document, number=1).update(
        status=Page.Status.RUNNING, lease_owner=owner, lease_expires_at=timezone.now() - timedelta(seconds=5)
    )

    # WHEN recovery runs, and then the workers
    recovered = recovery.recover(stub_broker)
    with running_worker(stub_broker):
        drain(stub_broker)

    # THEN the dead worker's page was handed back once and read
    assert recovered.expired_leases == [(str(document.id), 1)]
    page = Page.objects.get(document=document, number=1)
    assert page.crash_count == 1
    assert page.status == Page.Status.DONE
    assert "Recovered page 1" in page.text
    # AND page 2, whose message was flushed with the broker, is not the lease pass's business
    assert Page.objects.get(document=document, number=2).status == Page.Status.PENDING


def test_recovered_pages_are_counted_for_good(api_client, stub_broker, admin_client):
    # GIVEN a page claimed by a worker that died
    document = reading_document(api_client, stub_broker, pages=1)
    Page.objects.filter(document=document).update(
        status=Page.Status.RUNNING, lease_owner="gone-host:77", lease_expires_at=timezone.now() - timedelta(seconds=5)
    )

    # WHEN recovery hands it back, and its document is deleted afterwards
    assert recovery.recover(stub_broker).expired_leases == [(str(document.id), 1)]
    document.delete()

    # THEN /metrics still counts one recovered page: a Prometheus counter never goes down
    metrics = admin_client.get("/metrics").content.decode()
    assert "exora_recovered_pages_total 1.0" in metrics.splitlines()


def test_page_that_killed_three_workers_quarantines_its_document(api_client, stub_broker, transactional_db):
    # GIVEN a page that two workers already died on, and a third just did (its host lives on)
    document = reading_document(api_client, stub_broker, pages=1)
    Page.objects.filter(document=document).update(
        status=Page.Status.RUNNING,
        lease_owner=died_on_a_live_host("live-host:3.b2"),
        lease_expires_at=timezone.now() - timedelta(seconds=1),
        crash_count=2,
    )

    # WHEN recovery runs
    recovered = recovery.recover(stub_broker)

    # THEN the document is set aside with a reason, and nothing is queued again
    assert recovered.quarantined == [str(document.id)]
    document.refresh_from_db()
    assert document.status == Document.Status.FAILED
    assert "stopped the worker reading it 3 times" in document.error
    assert all(not q.qsize() for q in stub_broker.queues.values())


@pytest.mark.parametrize("how", ["host lost with it", "host drained"])
def test_a_host_lost_or_drained_is_not_a_crash_of_its_page(api_client, stub_broker, transactional_db, how):
    # GIVEN a page two workers died on already, held by a worker of a host that went away: the
    # whole node went silent with it, or it was stopped cleanly (drained)
    document = reading_document(api_client, stub_broker, pages=1)
    owner = "lost-host:7.c3"
    worker_row(owner, silent_for=40, stopped=how == "host drained")
    worker_row("lost-host:8.c4", silent_for=39)  # its sibling went silent at the same moment
    worker_row("other-host:1.d5", silent_for=1)  # the fleet lives on elsewhere
    Page.objects.filter(document=document).update(
        status=Page.Status.RUNNING, lease_owner=owner, lease_expires_at=timezone.now() - timedelta(seconds=1),
        crash_count=2,
    )  # fmt: skip

    # WHEN recovery runs
    recovered = recovery.recover(stub_broker)

    # THEN the page is handed back and sent again, with no crash counted: the document stays
    assert recovered.expired_leases == [(str(document.id), 1)] and recovered.crashes == []
    assert recovered.quarantined == []
    page = Page.objects.get(document=document)
    assert (page.status, page.crash_count) == (Page.Status.PENDING, 2)
    assert stub_broker.queues["pages-priority"].qsize() == 1
    document.refresh_from_db()
    assert document.status == Document.Status.READING


def test_a_live_lease_is_left_alone(api_client, stub_broker):
    # GIVEN a page a live worker is reading
    document = reading_document(api_client, stub_broker, pages=1)
    Page.objects.filter(document=document).update(
        status=Page.Status.RUNNING, lease_owner="busy-host:1", lease_expires_at=timezone.now() + timedelta(seconds=20)
    )
    # WHEN recovery runs
    recovered = recovery.recover(stub_broker)
    # THEN it does nothing
    assert recovered.expired_leases == []
    assert Page.objects.get(document=document).lease_owner == "busy-host:1"


@pytest.fixture
def redis_broker():
    client = redis.Redis.from_url(FAULTS_REDIS_URL)
    client.flushdb()
    yield RedisBroker(url=FAULTS_REDIS_URL)  # type: ignore[no-untyped-call, unused-ignore]  # dramatiq: __init__ untyped
    client.flushdb()


def test_pages_whose_messages_redis_lost_are_sent_again(api_client, stub_broker, redis_broker, settings):
    # GIVEN a document reading for a while, with three pages still to read
    settings.EXORA_LEASE_SECONDS = 3
    document = reading_document(api_client, stub_broker, pages=3)
    Document.objects.filter(id=document.id).update(started_at=timezone.now() - timedelta(seconds=60))
    # AND Redis still holds the message of page 1 only (pages 2 and 3 were lost in a flush)
    kept = Page.objects.get(document=document, number=1).message_id
    redis_broker.client.hset("dramatiq:pages.msgs", kept, b"{}")

    # WHEN recovery runs
    recovered = recovery.recover(redis_broker)

    # THEN exactly the lost pages were sent again, with new message ids
    assert sorted(recovered.resent_pages) == [(str(document.id), 2), (str(document.id), 3)]
    assert stub_broker.queues["pages-priority"].qsize() == 2  # they waited once: ahead of new pages
    assert Page.objects.get(document=document, number=1).message_id == kept


def test_document_whose_start_message_redis_lost_is_started_again(api_client, stub_broker, redis_broker, settings):
    # GIVEN a queued document whose start message is no longer in Redis
    settings.EXORA_LEASE_SECONDS = 3
    document = upload_scan(api_client, [["Waiting for a start that was lost"]])
    stub_broker.flush_all()
    Document.objects.filter(id=document.id).update(created_at=timezone.now() - timedelta(seconds=60))

    # WHEN recovery runs
    recovered = recovery.recover(redis_broker)

    # THEN the document is started again
    assert recovered.resent_documents == [str(document.id)]
    assert stub_broker.queues["documents"].qsize() == 1


def test_a_worker_is_named_by_its_node_its_pid_and_a_boot_id_of_its_own(settings):
    # GIVEN this process and a child forked from it (a worker process, or a restarted container)
    context = multiprocessing.get_context("fork")
    with context.Pool(1) as pool:
        child = pool.apply(identity.worker_name)
    # THEN both are named by the node and their own pid, and a boot id drawn by each
    mine = identity.worker_name()
    assert mine.startswith(f"{settings.EXORA_NODE_NAME}:{os.getpid()}.")
    assert child.startswith(f"{settings.EXORA_NODE_NAME}:") and child != mine
    assert identity.node_of(child) == identity.node_of(mine) == settings.EXORA_NODE_NAME
    assert child.rsplit(".", 1)[1] != mine.rsplit(".", 1)[1]


def test_ocr_engine_killed_by_a_signal_is_transient(tmp_path, monkeypatch):
    # GIVEN an OCR engine that the kernel kills (as the OOM killer would)
    script = shell_script(tmp_path / "killed" / "tesseract", "kill -9 $$")
    monkeypatch.setenv("PATH", f"{script.parent}:{os.environ['PATH']}")
    image = tmp_path / "page.png"
    image.write_bytes(b"not really read")

    # WHEN a page is read
    # THEN the failure is one worth retrying, not the page's fault
    with pytest.raises(TransientError, match="stopped while reading"):
        ocr.ocr_page(image, languages="eng", dpi=300, timeout=10)


def test_hung_renderer_is_killed_and_reported_as_transient(tmp_path, monkeypatch):
    # GIVEN a pdftoppm that never answers, first on the PATH
    pid_file = tmp_path / "pdftoppm.pid"
    hung = shell_script(tmp_path / "bin" / "pdftoppm", f"echo $$ > {pid_file}\nexec sleep 300")
    monkeypatch.setenv("PATH", f"{hung.parent}:{os.environ['PATH']}")
    pdf = tmp_path / "scan.pdf"
    pdf.write_bytes(scanned_pdf([["Rendering hangs"]], height_in=1.0))

    # WHEN a page is rendered with a 2-second limit
    started = time.monotonic()
    with pytest.raises(TransientError, match="took longer than 2 s"):
        rendering.render_pdf_page(pdf, 1, tmp_path, dpi=300, for_ocr=True, timeout=2)

    # THEN it gave up after the limit, and the hung process is gone
    assert time.monotonic() - started < 10
    assert not psutil.pid_exists(int(pid_file.read_text()))


def test_document_whose_extraction_message_was_lost_is_extracted_again(api_client, stub_broker, redis_broker, settings):
    # GIVEN a document whose pages are read, waiting for an extraction message Redis lost
    settings.EXORA_LEASE_SECONDS = 3
    document = upload_scan(api_client, [["All pages read, extraction lost"]])
    stub_broker.flush_all()
    Document.objects.filter(id=document.id).update(
        status=Document.Status.EXTRACTING, created_at=timezone.now() - timedelta(seconds=60)
    )

    # WHEN recovery runs
    recovered = recovery.recover(redis_broker)

    # THEN its extraction is queued again
    assert recovered.resent_documents == [str(document.id)]
    [message] = list(stub_broker.queues["documents"].queue)
    assert b"extract_document" in message


def test_pages_of_a_lost_text_run_are_sent_again_one_by_one(api_client, stub_broker, redis_broker, settings):
    # GIVEN a born-digital document whose five pages went out as one message, which Redis lost
    settings.EXORA_LEASE_SECONDS = 3
    settings.EXORA_TEXT_BATCH_PAGES = 8
    pdf = born_digital_pdf([[f"Typed progress note, page {n} of the record."] for n in range(1, 6)])
    response = api_client.post("/api/v1/documents/", {"file": SimpleUploadedFile("typed.pdf", pdf)}, format="multipart")
    document_id = response.json()["id"]
    start_document(document_id)  # which sends the five pages as one message
    assert stub_broker.queues["pages"].qsize() == 1
    stub_broker.flush_all()
    Document.objects.filter(id=document_id).update(started_at=timezone.now() - timedelta(seconds=60))

    # WHEN recovery runs
    recovered = recovery.recover(redis_broker)

    # THEN each page of the lost run is sent again on its own, ahead of new pages
    assert sorted(recovered.resent_pages) == [(document_id, n) for n in range(1, 6)]
    assert stub_broker.queues["pages-priority"].qsize() == 5
