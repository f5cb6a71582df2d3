"""One message per page: a long document spreads over the workers and completes exactly once,
however often its page messages are delivered."""

import io
import json
import logging
import threading
from datetime import datetime
from pathlib import Path
from typing import Any

import dramatiq
import pytest
from django.conf import settings
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from PIL import Image

from documents import services as document_services
from documents.models import Document
from processing import actors, options, pipeline
from processing.engine.reader import read_page
from processing.engine.results import PageResult
from processing.models import Page
from tests.conftest import drain, source_file, start_document
from tests.factories import png, scanned_pdf

PAGES = 50


def line(number: int) -> str:
    return f"Sheet {number} vitals code {number * 37}"


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(scope="module")
def fifty_pages():
    """A 50-page scan, one short line on each one-inch-high page so that OCR stays quick."""
    return scanned_pdf([[line(n)] for n in range(1, PAGES + 1)], height_in=1.0)


def snapshot(document: Document) -> tuple[str, int, datetime | None, list[tuple[Any, ...]]]:
    """What must not change once a document is complete: its counters and every stored page."""
    document.refresh_from_db()
    pages = document.pages.order_by("number").values_list("number", "status", "text", "words", "done_at", "image")
    return document.status, document.pages_done, document.finished_at, list(pages)


def completion_logs(caplog: pytest.LogCaptureFixture, document: Document) -> list[logging.LogRecord]:
    return [r for r in caplog.records if str(document.id) in r.getMessage() and "completed" in r.getMessage()]


def assert_read_page_by_page(document: Document) -> None:
    document.refresh_from_db()
    assert document.status == Document.Status.COMPLETED, document.error
    assert document.page_count == PAGES
    assert document.pages_done == PAGES
    pages = list(document.pages.order_by("number"))
    assert [p.number for p in pages] == list(range(1, PAGES + 1))
    for page in pages:
        assert page.status == Page.Status.DONE
        assert page.source == "ocr"
        assert page.text == line(page.number), page.number
        assert page.image.name is not None  # narrows the type
        assert default_storage.exists(page.image.name), page.number
    # each page has its own display image
    assert len({p.image.name for p in pages}) == PAGES
    assert document.job.finished_at == document.finished_at


def test_fifty_pages_complete_once_and_ignore_redelivery(fifty_pages, api_client, stub_broker, stub_worker, caplog):
    caplog.set_level(logging.INFO, logger="processing.pipeline")
    # GIVEN a 50-page scan uploaded through the API, its pages read by the worker
    response = api_client.post(
        "/api/v1/documents/", {"file": SimpleUploadedFile("long.pdf", fifty_pages)}, format="multipart"
    )
    assert response.status_code == 201, response.content
    drain(stub_broker)
    document = Document.objects.get(id=response.json()["id"])

    # THEN it completed with 50 stored pages, each with its own text
    assert_read_page_by_page(document)
    assert len(completion_logs(caplog, document)) == 1
    before = snapshot(document)

    # WHEN the broker delivers the start message and several page messages again
    actors.start_document.send(str(document.id))
    for number in (1, 2, 25, 49, 50, 50):
        actors.PAGE_ACTORS["standard"].send(str(document.id), number)
    drain(stub_broker)

    # THEN nothing changes: no page is read or stored again, nothing is counted twice,
    # the document does not complete a second time, and no message failed
    assert snapshot(document) == before
    assert document.pages.count() == PAGES
    assert len(completion_logs(caplog, document)) == 1
    assert stub_broker.dead_letters == []


def test_each_page_message_delivered_twice_before_any_is_read(
    fifty_pages, user, stub_broker, transactional_db, request, caplog
):
    caplog.set_level(logging.INFO, logger="processing.pipeline")
    # GIVEN a fresh 50-page document whose start stage has run on a worker that reads only
    # the documents queue, so that its 50 page messages are waiting
    document = document_services.document_upload(user, SimpleUploadedFile("long.pdf", fifty_pages))
    starter = dramatiq.Worker(stub_broker, queues={"documents"}, worker_timeout=100, worker_threads=1)
    starter.start()
    try:
        stub_broker.join("documents", fail_fast=True)
    finally:
        starter.stop()
    # (a window of pages is queued; each page read sends the next)
    window = settings.EXORA_DOCUMENT_WINDOW
    assert stub_broker.queues["pages"].qsize() == window
    # AND every page message is sent twice more before any page is read
    for number in list(range(1, PAGES + 1)) * 2:
        actors.PAGE_ACTORS["standard"].send(str(document.id), number)
    assert stub_broker.queues["pages"].qsize() == window + 2 * PAGES
    document.refresh_from_db()
    assert (document.status, document.page_count, document.pages_done) == ("reading", PAGES, 0)

    # WHEN the workers read them all, two at a time
    request.getfixturevalue("stub_worker")
    drain(stub_broker)

    # THEN each page counted once, and the document completed once
    assert_read_page_by_page(document)
    assert document.pages_done == document.page_count == PAGES
    assert len(completion_logs(caplog, document)) == 1
    assert stub_broker.dead_letters == []


def _read(document: Document, number: int, workdir: Path) -> tuple[PageResult, Path]:
    workdir.mkdir()
    source = source_file(document.id, workdir)
    return read_page(source, document.mime_type, number, workdir, options.read_options(document.ocr_mode))


def test_store_page_twice_stores_and_counts_once(user, tmp_path):
    # GIVEN a two-page document, planned, and both its pages read
    pdf = scanned_pdf([["Admitted overnight."], ["Discharged home."]], height_in=1.0)
    document = document_services.document_upload(user, SimpleUploadedFile("two.pdf", pdf))
    assert start_document(str(document.id)) == [1, 2]
    first, first_image = _read(document, 1, tmp_path / "1")
    second, second_image = _read(document, 2, tmp_path / "2")
    assert (first.text, second.text) == ("Admitted overnight.", "Discharged home.")

    # WHEN page 1 is stored twice, the second time with a different reading
    stored = pipeline.store_pages(str(document.id), [(first, first_image)])
    after_first = snapshot(document)
    first.text = "A different reading."
    stored_again = pipeline.store_pages(str(document.id), [(first, first_image)])

    # THEN only the first call stored it: counted once, its text kept, the document still reading
    assert (stored, stored_again) == (False, False)  # neither stored the last page
    assert snapshot(document) == after_first
    assert after_first[:2] == ("reading", 1)
    assert after_first[3][0][1:3] == ("done", "Admitted overnight.")

    # AND WHEN the last page is stored, and then stored again
    completed = pipeline.store_pages(str(document.id), [(second, second_image)])
    after_last = snapshot(document)
    completed_again = pipeline.store_pages(str(document.id), [(second, second_image)])

    # THEN the first of those stored the last page (the document goes on to its extraction
    # stage, which completes it), and the repeat changed nothing
    assert (completed, completed_again) == (True, False)
    assert after_last[:3] == ("extracting", 2, None)
    assert snapshot(document) == after_last


def test_two_deliveries_storing_one_page_at_once_count_it_once(user, stub_broker, transactional_db, tmp_path):
    # GIVEN a one-page document, planned, and its page read
    document = document_services.document_upload(user, SimpleUploadedFile("race.png", png(["Night shift notes."])))
    start_document(str(document.id))
    result, display = _read(document, 1, tmp_path / "page")
    barrier = threading.Barrier(2)
    outcomes = []

    def deliver():
        try:
            barrier.wait(timeout=10)
            outcomes.append(pipeline.store_pages(str(document.id), [(result, display)]))
        finally:
            connection.close()

    # WHEN two deliveries store it at the same moment, each on its own database connection
    threads = [threading.Thread(target=deliver) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    # THEN exactly one of them stored it and sent the document on to its extraction
    assert sorted(outcomes) == [False, True]
    document.refresh_from_db()
    assert (document.status, document.pages_done, document.page_count) == ("extracting", 1, 1)
    sent = [json.loads(m)["actor_name"] for m in stub_broker.queues["documents"].queue]
    assert sent.count("extract_document") == 1  # after the upload's start_document
    assert Page.objects.get(document=document, number=1).text == "Night shift notes."


def test_store_page_again_keeps_the_stored_image(user, tmp_path):
    # GIVEN a one-page document whose page was read and stored
    document = document_services.document_upload(user, SimpleUploadedFile("one.png", png(["Ward round."])))
    start_document(str(document.id))
    result, display = _read(document, 1, tmp_path / "first")
    assert pipeline.store_pages(str(document.id), [(result, display)])
    page = Page.objects.get(document=document, number=1)
    assert page.image.name is not None  # narrows the type
    with default_storage.open(page.image.name, "rb") as stored:
        original = stored.read()

    # WHEN a second delivery stores the page again with a different image
    other = tmp_path / "other.jpg"
    other.write_bytes(_jpeg_of(png(["Something else entirely."])))
    assert pipeline.store_pages(str(document.id), [(result, other)]) is False

    # THEN the stored page keeps the image that goes with its text
    page.refresh_from_db()
    assert page.image.name is not None  # narrows the type
    with default_storage.open(page.image.name, "rb") as stored:
        assert stored.read() == original


def _jpeg_of(png_bytes: bytes) -> bytes:
    buffer = io.BytesIO()
    Image.open(io.BytesIO(png_bytes)).convert("RGB").save(buffer, "JPEG")
    return buffer.getvalue()
