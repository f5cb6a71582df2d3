"""Nothing lost, nothing stuck: every run is recorded, and a document can be cancelled and retried."""

import pytest
from django.contrib.admin.models import LogEntry
from django.contrib.auth import get_user_model
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from rest_framework.test import APIClient

from documents import lifecycle
from documents.models import Document
from processing import identity, leases, options, pipeline
from processing.engine.reader import read_page
from processing.models import Attempt
from tests.conftest import drain, source_file, start_document
from tests.factories import DATA, born_digital_pdf, replace_stored_file

API = "/api/v1/documents/"
ADMIN_DOCUMENTS = "/admin/documents/document/"


def upload(client, name: str, content: bytes) -> Document:
    response = client.post(API, {"file": SimpleUploadedFile(name, content)}, format="multipart")
    assert response.status_code == 201, response.content
    return Document.objects.get(id=response.json()["id"])


def attempts_of(document: Document) -> list[tuple[str, int | None, str]]:
    return [(a.stage, a.page_number, a.outcome) for a in Attempt.objects.filter(job__document=document)]


@pytest.fixture
def paused_worker(stub_worker):
    """The stub worker, paused, so that a test can act before any message is run."""
    stub_worker.pause()
    return stub_worker


@pytest.fixture
def admin_client_(db) -> Client:
    admin = get_user_model().objects.create_superuser("root", password="correct-horse-battery")
    client = Client()
    client.force_login(admin)
    return client


def test_every_run_of_a_good_document_is_recorded(api_client, stub_broker, stub_worker):
    # GIVEN a two-page document
    document = upload(api_client, "visit.pdf", born_digital_pdf([["Attempts page one"], ["Attempts page two"]]))

    # WHEN the workers run
    drain(stub_broker)

    # THEN one start, one run per page and one extraction were recorded, all succeeded, by
    # this worker process
    document.refresh_from_db()
    assert document.status == Document.Status.COMPLETED, document.error
    attempts = list(Attempt.objects.filter(job__document=document))
    assert sorted((a.stage, a.page_number or 0) for a in attempts) == [
        ("extract", 0),
        ("page", 1),
        ("page", 2),
        ("start", 0),
    ]
    for attempt in attempts:
        assert attempt.outcome == Attempt.Outcome.SUCCEEDED
        assert attempt.worker == identity.worker_name()
        assert attempt.finished_at is not None  # narrows the type
        assert attempt.started_at <= attempt.finished_at
        assert attempt.error_class == attempt.message == ""


def test_finished_document_cannot_be_cancelled_or_retried(api_client, stub_broker, stub_worker):
    # GIVEN a completed document
    document = upload(api_client, "done.pdf", born_digital_pdf([["Completed already, nothing to retry"]]))
    drain(stub_broker)

    # WHEN its owner asks to retry it, or to cancel it
    retried = api_client.post(f"{API}{document.id}/retry/")
    cancelled = api_client.post(f"{API}{document.id}/cancel/")

    # THEN both are refused with 409 and a reason, and the document stays completed
    assert retried.status_code == 409
    assert "failed or cancelled" in retried.json()["detail"]
    assert cancelled.status_code == 409
    assert "already completed" in cancelled.json()["detail"]
    document.refresh_from_db()
    assert document.status == Document.Status.COMPLETED


def test_cancelled_before_the_worker_runs_reads_nothing(api_client, web_client, stub_broker, paused_worker):
    # GIVEN a queued document that no worker has picked up yet
    document = upload(api_client, "queued.pdf", born_digital_pdf([["Cancel me before I am read"]]))
    assert f'action="/documents/{document.id}/cancel/"' in web_client.get(f"/documents/{document.id}/").text

    # WHEN its owner cancels it, and then the workers run
    response = api_client.post(f"{API}{document.id}/cancel/")
    paused_worker.resume()
    drain(stub_broker)

    # THEN it stays cancelled, no page was read, and the start message did nothing
    assert response.status_code == 200, response.content
    assert response.json()["status"] == "cancelled"
    document.refresh_from_db()
    assert document.status == Document.Status.CANCELLED
    assert document.finished_at is not None
    assert not document.pages.exists()
    assert attempts_of(document) == [("start", None, "skipped")]
    # AND its page offers to retry it instead of cancelling it
    page = web_client.get(f"/documents/{document.id}/").text
    assert f'action="/documents/{document.id}/retry/"' in page
    assert "/cancel/" not in page


def test_page_read_while_cancelled_is_not_stored(api_client, tmp_path):
    # GIVEN a document being read: its pages planned and page 1 claimed and read by a worker
    document = upload(api_client, "inflight.pdf", born_digital_pdf([["Read while cancelled"], ["Never read"]]))
    assert start_document(str(document.id)) == [1, 2]
    assert leases.claim(str(document.id), [1]) == [1]
    result, display = read_page(
        source_file(document.id, tmp_path), document.mime_type, 1, tmp_path, options.read_options()
    )

    # WHEN its owner cancels it before the worker stores the page
    lifecycle.document_cancel(document.id, document.owner)
    completed = pipeline.store_pages(str(document.id), [(result, display)])

    # THEN the page is not stored (and is no longer claimed), and the document stays cancelled
    assert completed is False
    document.refresh_from_db()
    assert document.status == Document.Status.CANCELLED
    assert document.pages_done == 0
    assert list(document.pages.values_list("status", "text")) == [("pending", ""), ("pending", "")]


def test_other_peoples_documents_cannot_be_cancelled_or_retried(api_client, other_user, stub_broker):
    # GIVEN alice's queued document
    document = upload(api_client, "private.pdf", born_digital_pdf([["Not yours to cancel"]]))
    mallory = APIClient()
    mallory.force_authenticate(other_user)

    # WHEN someone else asks to cancel or retry it
    responses = [mallory.post(f"{API}{document.id}/{verb}/") for verb in ("cancel", "retry")]

    # THEN it does not exist for them, and nothing changed
    assert [r.status_code for r in responses] == [404, 404]
    document.refresh_from_db()
    assert document.status == Document.Status.QUEUED


def test_permanent_error_fails_once_and_retry_after_repair_completes(
    api_client, web_client, stub_broker, paused_worker
):
    # GIVEN an accepted upload whose stored file is damaged before a worker reads it
    document = upload(api_client, "repairable.pdf", born_digital_pdf([["Readable again after the repair"]]))
    with document.file.open("rb") as stored:
        good_bytes = stored.read()
    replace_stored_file(document.file.name, (DATA / "invalid.pdf").read_bytes())

    # WHEN the workers run
    paused_worker.resume()
    drain(stub_broker)

    # THEN it failed with exactly one failed attempt, not retried, with the reason shown
    document.refresh_from_db()
    assert document.status == Document.Status.FAILED
    assert [(a.stage, a.outcome, a.error_class) for a in Attempt.objects.filter(job__document=document)] == [
        ("start", "failed", "PermanentError")
    ]
    assert api_client.get(f"{API}{document.id}/").json()["error"] == "This PDF is damaged and could not be repaired."
    page = web_client.get(f"/documents/{document.id}/").text
    assert "upload a readable copy" in page
    assert "/retry/" not in page

    # WHEN the file is repaired and the owner retries
    replace_stored_file(document.file.name, good_bytes)
    response = api_client.post(f"{API}{document.id}/retry/")
    drain(stub_broker)

    # THEN the document was queued again, without its old error, and completed
    assert response.status_code == 200, response.content
    assert response.json()["status"] == "queued"
    assert response.json()["error"] == ""
    document.refresh_from_db()
    assert document.status == Document.Status.COMPLETED, document.error
    assert "Readable again after the repair" in document.pages.get(number=1).text
    assert attempts_of(document) == [
        ("start", None, "failed"),
        ("start", None, "succeeded"),
        ("page", 1, "succeeded"),
        ("extract", None, "succeeded"),
    ]


def test_retry_reads_only_the_pages_not_read_yet(api_client, stub_broker, stub_worker):
    # GIVEN a two-page document that failed after its first page was read
    document = upload(api_client, "half.pdf", born_digital_pdf([["First half kept"], ["Second half read again"]]))
    drain(stub_broker)
    first_read_at = document.pages.get(number=1).done_at
    document.pages.filter(number=2).update(status="pending", text="", done_at=None)
    Document.objects.filter(id=document.id).update(status=Document.Status.FAILED, pages_done=1, error="Lost")
    Attempt.objects.filter(job__document=document).delete()

    # WHEN its owner retries it and the workers run
    response = api_client.post(f"{API}{document.id}/retry/")
    drain(stub_broker)

    # THEN only the second page was read again, and the document completed with both
    assert response.status_code == 200, response.content
    assert response.json()["pages_done"] == 1
    document.refresh_from_db()
    assert document.status == Document.Status.COMPLETED, document.error
    assert document.pages_done == 2
    assert attempts_of(document) == [
        ("start", None, "succeeded"),
        ("page", 2, "succeeded"),
        ("extract", None, "succeeded"),
    ]
    assert document.pages.get(number=1).done_at == first_read_at
    assert "Second half read again" in document.pages.get(number=2).text


def test_page_buttons_cancel_and_then_retry(api_client, web_client, stub_broker, paused_worker):
    # GIVEN a queued document
    document = upload(api_client, "buttons.pdf", born_digital_pdf([["Cancelled then retried from the page"]]))

    # WHEN its owner presses Cancel on its page
    cancelled = web_client.post(f"/documents/{document.id}/cancel/", follow=True)

    # THEN it is cancelled and the page says so
    assert "Cancelled. Pages already read are kept." in cancelled.text
    document.refresh_from_db()
    assert document.status == Document.Status.CANCELLED

    # WHEN the owner presses Retry and the workers run
    retried = web_client.post(f"/documents/{document.id}/retry/", follow=True)
    paused_worker.resume()
    drain(stub_broker)

    # THEN it completes
    assert "Queued again." in retried.text
    document.refresh_from_db()
    assert document.status == Document.Status.COMPLETED, document.error
    # AND both start messages (from the upload and from the retry) ran, harmlessly: they may
    # both plan the page, but it is read and stored once
    attempts = attempts_of(document)
    starts = sorted(outcome for stage, _, outcome in attempts if stage == "start")
    assert starts in (["skipped", "succeeded"], ["succeeded", "succeeded"])
    assert {outcome for _, _, outcome in attempts} <= {"succeeded", "skipped"}
    assert document.pages_done == 1


def test_admin_actions_cancel_and_retry_and_are_logged(api_client, admin_client_, stub_broker, paused_worker):
    # GIVEN a queued document of alice's
    document = upload(api_client, "admin.pdf", born_digital_pdf([["Handled by the admin"]]))

    def act(action: str):
        return admin_client_.post(ADMIN_DOCUMENTS, {"action": action, "_selected_action": [str(document.id)]})

    # WHEN a staff user cancels it from the admin
    assert act("cancel_documents").status_code == 302

    # THEN it is cancelled, and the admin log says who did it
    document.refresh_from_db()
    assert document.status == Document.Status.CANCELLED
    entry = LogEntry.objects.get()
    assert entry.user.username == "root"
    assert entry.object_id == str(document.id)
    assert entry.get_change_message() == "Cancelled from the admin (was queued)."

    # WHEN the staff user retries it from the admin and the workers run
    assert act("retry_documents").status_code == 302
    paused_worker.resume()
    drain(stub_broker)

    # THEN it completes, and the retry is logged too
    document.refresh_from_db()
    assert document.status == Document.Status.COMPLETED, document.error
    messages = list(LogEntry.objects.order_by("action_time").values_list("change_message", flat=True))
    assert messages == ["Cancelled from the admin (was queued).", "Retried from the admin (was cancelled)."]

    # WHEN it is retried again, now that it is completed
    refused = admin_client_.post(
        ADMIN_DOCUMENTS, {"action": "retry_documents", "_selected_action": [str(document.id)]}, follow=True
    )

    # THEN the admin says why not, and logs nothing
    assert "Only a failed or cancelled document can be retried" in refused.text
    assert LogEntry.objects.count() == 2


def test_admin_shows_attempts(api_client, admin_client_, stub_broker, stub_worker):
    # GIVEN a processed document
    document = upload(api_client, "shown.pdf", born_digital_pdf([["Attempts in the admin"]]))
    drain(stub_broker)
    job = document.job

    # WHEN a staff user opens its job, and the attempts list filtered and searched
    job_page = admin_client_.get(f"/admin/processing/job/{job.id}/change/")
    listed = admin_client_.get("/admin/processing/attempt/", {"outcome": "succeeded", "stage": "page", "q": "shown"})

    # THEN both show the attempts
    assert job_page.status_code == 200
    assert identity.worker_name() in job_page.text
    assert listed.status_code == 200
    assert listed.context["cl"].result_count == 1


def test_admin_moves_a_document_to_another_lane_and_logs_it(api_client, admin_client_, stub_broker):
    # GIVEN a queued document in the standard lane
    document = upload(api_client, "reprioritise.pdf", born_digital_pdf([["Move me to the front"]]))
    assert document.job.lane == "standard"

    # WHEN an operator moves it to the priority lane
    response = admin_client_.post(
        ADMIN_DOCUMENTS, {"action": "move_to_priority", "_selected_action": [str(document.id)]}, follow=True
    )

    # THEN its job is in the priority lane, the operator is told, and the admin log says who did it
    assert response.status_code == 200
    document.job.refresh_from_db()
    assert document.job.lane == "priority"
    assert "Moved 1 unfinished document(s) to the priority lane." in response.content.decode()
    entry = LogEntry.objects.get(object_id=str(document.id))
    assert entry.user.username == "root"
    assert entry.change_message == "Moved from the standard lane to the priority lane from the admin."
