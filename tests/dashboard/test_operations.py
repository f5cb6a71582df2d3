"""Operator actions (retry a failure group or one document, acknowledge), their audit trail,
and text from uploads shown escaped."""

import pytest
from django.utils import timezone

from dashboard.models import Alert, AlertRule, AuditLog
from documents.models import Document
from tests.dashboard.conftest import fail_with, make_document

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("default_rules")]

HOSTILE_NAME = '<script>alert("name")</script>.pdf'
HOSTILE_ERROR = "<img src=x onerror=alert('error')>"


def failed_group(user, n: int = 2) -> list[Document]:
    documents = [make_document(user, status=Document.Status.FAILED, name=f"scan-{i}.pdf") for i in range(n)]
    for document in documents:
        fail_with(document, stage="page", error_class="TesseractError", message="tesseract crashed", page=1)
    return documents


def test_retrying_a_failure_group_queues_its_documents_again_and_is_audited(
    user, operator, operator_client, stub_broker
):
    # GIVEN two documents failed by the same error, and one failed by another
    group = failed_group(user)
    other = make_document(user, status=Document.Status.FAILED, name="other.pdf")
    fail_with(other, stage="start", error_class="PermanentError", message="not a PDF")
    # WHEN an operator retries the group from the dashboard
    response = operator_client.post("/ops/failures/retry/", {"stage": "page", "error_class": "TesseractError"})
    # THEN the group's documents are queued again (through processing.services.retry), not the other
    assert response.status_code == 302
    statuses = {d.original_name: d.status for d in Document.objects.all()}
    assert statuses == {"scan-0.pdf": "queued", "scan-1.pdf": "queued", "other.pdf": "failed"}
    # AND the audit log says who retried what
    actions = list(AuditLog.objects.order_by("id").values_list("username", "action", "target_id"))
    assert ("olga", "retry failure group", "page/TesseractError") in actions
    assert {a[2] for a in actions if a[1] == "retry document"} == {str(d.id) for d in group}


def test_retrying_a_document_that_cannot_be_is_refused_with_the_reason(user, operator_client):
    completed = make_document(user)
    response = operator_client.post(f"/ops/documents/{completed.id}/retry/", follow=True)
    assert "Only a failed or cancelled document can be retried" in response.content.decode()
    assert not AuditLog.objects.filter(action="retry document").exists()


def test_acknowledging_from_the_dashboard(operator_client):
    rule = AlertRule.objects.get(key="no-worker")
    now = timezone.now()
    alert = Alert.objects.create(
        rule=rule, subject="pages", state=Alert.State.FIRING, value=3, peak_value=3, started_at=now, raised_at=now
    )
    response = operator_client.post(f"/ops/alerts/{alert.id}/acknowledge/", follow=True)
    assert "Alert acknowledged." in response.content.decode()
    alert.refresh_from_db()
    assert alert.acknowledged_by is not None  # narrows the type
    assert alert.acknowledged_by.username == "olga"


def test_actions_in_the_admin_reach_the_audit_log(user, operator, client, stub_broker):
    # GIVEN a failed document, and an operator in the admin
    operator.is_superuser = True
    operator.save()
    client.force_login(operator)
    document = make_document(user, status=Document.Status.FAILED)
    # WHEN they retry it with the documents admin's action
    client.post(
        "/admin/documents/document/", {"action": "retry_documents", "_selected_action": [document.id]}, follow=True
    )
    # THEN the audit log has it too, with who, what and when
    entry = AuditLog.objects.get(source="admin")
    assert (entry.username, entry.action, entry.target_type, entry.target_id) == (
        "olga",
        "change document",
        "document",
        str(document.id),
    )
    assert "Retried from the admin" in entry.detail and entry.at is not None


def test_acknowledging_in_the_admin_is_audited(operator, client):
    client.force_login(operator)
    operator.is_superuser = True
    operator.save()
    now = timezone.now()
    alert = Alert.objects.create(
        rule=AlertRule.objects.get(key="queue-depth"), subject="pages", state=Alert.State.FIRING,
        value=30, peak_value=30, started_at=now, raised_at=now,
    )  # fmt: skip
    response = client.post(
        "/admin/dashboard/alert/", {"action": "acknowledge", "_selected_action": [alert.id]}, follow=True
    )
    assert "Acknowledged 1 alert(s)" in response.content.decode()
    assert AuditLog.objects.filter(source="admin", action="acknowledge alert", target_id=str(alert.id)).exists()


def test_uploaded_names_and_error_messages_are_escaped_on_the_dashboard(user, operator_client):
    # GIVEN a failed document whose name and error message are HTML
    document = make_document(user, status=Document.Status.FAILED, name=HOSTILE_NAME)
    fail_with(document, stage="page", error_class="OSError", message=HOSTILE_ERROR, page=1)
    # WHEN an operator opens the dashboard and it polls
    page = operator_client.get("/ops/").content.decode()
    live = operator_client.get("/ops/live.json").json()["html"]
    # THEN both show the text, escaped, never as markup
    for html in (page, live):
        assert "<script>alert" not in html and "<img src=x" not in html
        assert "&lt;script&gt;alert(&quot;name&quot;)&lt;/script&gt;.pdf" in html
        assert "&lt;img src=x onerror=alert(&#x27;error&#x27;)&gt;" in html


def test_uploaded_names_are_escaped_in_the_admin_of_alerts_and_workers(operator, client):
    from processing.models import WorkerProcess

    operator.is_superuser = True
    operator.save()
    client.force_login(operator)
    now = timezone.now()
    worker = WorkerProcess.objects.create(
        name="h:1", host="h", pid=1, started_at=now, last_heartbeat=now,
        current=[{"actor": "read_document_page", "document": HOSTILE_NAME, "page": 1, "since": ""}],
    )  # fmt: skip
    html = client.get(f"/admin/processing/workerprocess/{worker.id}/change/").content.decode()
    assert "<script>alert" not in html and "&lt;script&gt;" in html
