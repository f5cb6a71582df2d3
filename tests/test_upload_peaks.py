"""Uploads at peak, in-process: what an upload answers when the queue is long or a person has
too much waiting, the quick checks at upload and the rest in the worker, and a database with
no connection to give answered 503 rather than 500.

The load itself (hundreds of clients at once against the real server) is
tests/e2e/test_upload_burst.py and benchmarks/upload_load.py."""

from datetime import timedelta

import psycopg
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import OperationalError
from django.test import RequestFactory
from django.utils import timezone
from psycopg_pool import PoolTimeout

from documents.models import Document
from exora import errors
from processing.models import Job, WorkerProcess
from tests.conftest import drain
from tests.dashboard.conftest import make_document
from tests.factories import DATA, born_digital_pdf

API = "/api/v1/documents/"


def upload(api_client, name: str, content: bytes):
    return api_client.post(API, {"file": SimpleUploadedFile(name, content)}, format="multipart")


@pytest.mark.django_db
def test_a_person_with_too_many_documents_waiting_is_told_to_come_back(api_client, user, settings):
    # GIVEN at most two documents waiting per person, and two of this person's waiting
    settings.EXORA_USER_MAX_WAITING = 2
    for _ in range(2):
        make_document(user, status=Document.Status.QUEUED)

    # WHEN they upload a third
    response = upload(api_client, "third.pdf", born_digital_pdf([["A third record"]]))

    # THEN it is refused with 429, the reason, and when to try again
    assert response.status_code == 429
    assert response.json()["detail"] == (
        "You have 2 documents waiting to be read, and at most 2 may wait at once: upload more once some are done."
    )
    assert response["Retry-After"] == "60"
    assert Document.objects.filter(owner=user).count() == 2


@pytest.mark.django_db
def test_an_upload_to_a_long_queue_answers_at_once_and_says_how_long(api_client, user, settings):
    # GIVEN one worker alive, pages measured at 2 s, and 40 documents of 20 pages waiting (8 in
    # line each: 320 pages, about 640 s before a newcomer starts)
    settings.EXORA_BUSY_WAIT_SECONDS = 300
    now = timezone.now()
    WorkerProcess.objects.create(
        name="host-a:101.x", host="host-a", pid=101, threads=1, queues=["pages"],
        started_at=now - timedelta(hours=1), last_heartbeat=now,
    )  # fmt: skip
    make_document(user, pages=5, page_seconds=2.0)  # read: the measured page time
    for _ in range(40):
        make_document(user, status=Document.Status.READING, pages=20)

    # WHEN a document is uploaded
    response = upload(api_client, "new.pdf", born_digital_pdf([["A newcomer"]]))

    # THEN it is taken at once, with the expected wait and a notice in words
    assert response.status_code == 201, response.content
    body = response.json()
    assert 500 <= body["expected_wait_seconds"] <= 800, body
    assert body["notice"].startswith("Many documents are waiting: this one should start in about")


@pytest.mark.django_db
def test_an_upload_to_a_short_queue_says_nothing_more(api_client, user):
    response = upload(api_client, "new.pdf", born_digital_pdf([["Nobody waiting"]]))
    assert response.status_code == 201
    assert response.json()["notice"] == ""


def test_a_page_too_large_is_refused_by_the_worker_with_the_same_reason(api_client, stub_broker, stub_worker):
    # GIVEN a PDF whose page is 117 inches across (the limit is 50)
    pdf = (DATA / "hugemono.pdf").read_bytes()

    # WHEN it is uploaded: the quick checks at upload take it (type, password, page count)
    response = upload(api_client, "poster.pdf", pdf)
    assert response.status_code == 201, response.content
    drain(stub_broker)

    # THEN the worker's first step refuses it, saying why, once
    document = Document.objects.get(id=response.json()["id"])
    assert document.status == Document.Status.FAILED
    assert "117 inches across; the largest page we read is 50 inches." in document.error
    assert [a.stage for a in Job.objects.get(document=document).attempts.all()] == ["start"]


@pytest.mark.parametrize(
    "problem",
    [
        PoolTimeout("couldn't get a connection after 10.00 sec"),
        psycopg.OperationalError("connection failed: FATAL:  sorry, too many clients already"),
    ],
    ids=["pool timeout", "server full"],
)
def test_a_database_with_no_connection_to_give_is_a_503_to_retry(problem):
    # GIVEN a request whose view found no database connection (Django wraps the driver's error)
    request = RequestFactory().post(API)
    try:
        try:
            raise problem
        except Exception as cause:
            raise OperationalError(str(cause)) from cause
    except OperationalError:
        # WHEN Django asks for the error page
        response = errors.server_error(request)

    # THEN it is 503 with when to retry and a sentence, not a 500
    assert response.status_code == 503
    assert response["Retry-After"] == str(errors.RETRY_AFTER_SECONDS)
    assert b"try again in a few seconds" in response.content


def test_any_other_error_is_still_a_500():
    request = RequestFactory().get("/")
    try:
        raise ValueError("a bug")
    except ValueError:
        response = errors.server_error(request)
    assert response.status_code == 500
