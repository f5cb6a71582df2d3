"""A record of who read what: every door that shows a document's content notes who, when, from
where and through which door; owners see it, operators export it, nobody edits it."""

import csv
import io
from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.utils import timezone

from access import records
from access.models import DocumentRead
from dashboard.models import AuditLog
from documents.models import Document
from tests.conftest import signed_in
from tests.security.conftest import NAME


@pytest.fixture
def operator(db):
    return get_user_model().objects.create_superuser("olga", password="an-operator-password")


def doors_recorded(document: Document) -> list[str]:
    return sorted(DocumentRead.objects.filter(document_id=document.id).values_list("door", flat=True))


def test_every_door_of_its_owner_is_recorded_without_content(web_client, api_client, user, document):
    # WHEN its owner reads it through every door
    for url in (f"/documents/{document.id}/", f"/documents/{document.id}/pages/1.jpg",
                f"/documents/{document.id}/text/", f"/documents/{document.id}/json/"):  # fmt: skip
        assert web_client.get(url).status_code == 200, url
    for url in ("", "result/", "text/"):
        assert api_client.get(f"/api/v1/documents/{document.id}/{url}").status_code == 200, url
    # AND a program polls the API's document detail while it waits
    for _ in range(3):
        assert api_client.get(f"/api/v1/documents/{document.id}/").status_code == 200
    # THEN each read is on record: who, from where, through which door, the polled one once
    assert doors_recorded(document) == sorted(
        ["page", "page_image", "text", "json", "api_document", "api_result", "api_text"]
    )
    for read in DocumentRead.objects.filter(document_id=document.id):
        assert (read.reader, read.reader_name, read.owner_id, read.address) == (user, "alice", user.id, "127.0.0.1")
        # AND no record carries the document's name or text
        row = " ".join(str(value) for value in vars(read).values())
        assert NAME not in row and "reactive" not in row


def test_someone_elses_attempt_reads_nothing_and_records_nothing(other_user, document):
    intruder = signed_in(other_user)
    assert intruder.get(f"/documents/{document.id}/text/").status_code == 404
    assert doors_recorded(document) == []


def test_the_admin_and_the_operators_pages_are_recorded_and_shown_to_the_owner(web_client, operator, document):
    # GIVEN the document failed, so the operators' failures inbox shows it
    Document.objects.filter(id=document.id).update(status=Document.Status.FAILED, error="Unreadable page")
    ops = signed_in(operator)
    # WHEN an operator opens its admin page, the admin's list, and the dashboard (twice)
    assert ops.get(f"/admin/documents/document/{document.id}/change/").status_code == 200
    assert ops.get("/admin/documents/document/").status_code == 200
    assert ops.get("/admin/documents/document/").status_code == 200
    assert ops.get("/ops/").status_code == 200
    assert ops.get("/ops/live.json").status_code == 200
    # THEN each door is on record, a polled page once per few minutes
    assert doors_recorded(document) == ["admin", "admin", "operations"]
    assert set(DocumentRead.objects.values_list("reader_name", flat=True)) == {"olga"}
    # AND its owner sees who read it
    page = web_client.get("/reads/").content.decode()
    assert "olga" in page and "Operators&#x27; dashboard" in page and NAME in page


def test_the_admin_no_longer_searches_everyones_text(operator, document):
    found = signed_in(operator).get("/admin/processing/page/", {"q": "reactive"}).context["cl"].result_count
    assert found == 0


def test_the_record_cannot_be_added_to_changed_or_deleted_in_the_admin(web_client, operator, document):
    web_client.get(f"/documents/{document.id}/")
    read = DocumentRead.objects.get()
    ops = signed_in(operator)
    assert ops.get("/admin/access/documentread/add/").status_code == 403
    assert ops.post(f"/admin/access/documentread/{read.id}/delete/", {"post": "yes"}).status_code == 403
    assert ops.post(f"/admin/access/documentread/{read.id}/change/", {"door": "json"}).status_code == 403
    assert DocumentRead.objects.get().door == "page"


def test_operators_export_a_time_range_as_csv_and_the_export_is_audited(web_client, operator, document):
    # GIVEN reads today and one 40 days ago
    web_client.get(f"/documents/{document.id}/")
    web_client.get(f"/documents/{document.id}/text/")
    old = DocumentRead.objects.create(reader_name="x", door="page", document_id=document.id, owner_id=1)
    DocumentRead.objects.filter(id=old.id).update(at=timezone.now() - timedelta(days=40))
    today = timezone.now().date()
    # WHEN an operator exports yesterday to tomorrow
    response = signed_in(operator).get(
        "/ops/reads.csv", {"since": str(today - timedelta(days=1)), "until": str(today + timedelta(days=1))}
    )
    # THEN the CSV has today's reads only, and the export is in the audit log
    assert response.status_code == 200 and response["Content-Type"] == "text/csv"
    rows = list(csv.DictReader(io.StringIO(response.getvalue().decode())))
    assert [r["door"] for r in rows] == ["page", "text"]
    assert rows[0]["reader"] == "alice" and rows[0]["document_id"] == str(document.id)
    assert AuditLog.objects.filter(action="export record of reads", username="olga").exists()


def test_staff_without_the_permission_cannot_export(db):
    staff = get_user_model().objects.create_user("sam", password="a-staff-password-here", is_staff=True)
    client = signed_in(staff)
    assert client.get("/ops/reads.csv", {"since": "2026-01-01", "until": "2026-02-01"}).status_code == 403
    staff.user_permissions.add(Permission.objects.get(codename="view_documentread"))
    assert client.get("/ops/reads.csv", {"since": "2026-01-01", "until": "2026-02-01"}).status_code == 200


def test_records_past_their_time_are_purged(document):
    kept = DocumentRead.objects.create(reader_name="a", door="page", document_id=document.id, owner_id=1)
    gone = DocumentRead.objects.create(reader_name="b", door="page", document_id=document.id, owner_id=1)
    DocumentRead.objects.filter(id=gone.id).update(at=timezone.now() - timedelta(days=400))
    assert records.purge_older_than(365) == 1
    assert list(DocumentRead.objects.values_list("id", flat=True)) == [kept.id]
