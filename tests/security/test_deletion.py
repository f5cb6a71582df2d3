"""Deletion that deletes: whichever way a document goes (its owner's page or the API, the admin,
its owner's account, retention), its rows and every file of it go, on disk and in a bucket; and
the sweep deletes the files no row owns once they are past the grace period."""

import io
import os
import time
from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.utils import timezone

from documents import retention
from documents.deletion import stored_files_under
from documents.models import Document
from processing.models import Job, Page
from tests.conftest import drain, signed_in
from tests.factories import born_digital_pdf


@pytest.fixture(params=["local", "s3"])
def storage(request) -> str:
    """Each test runs on the local disk, then in a bucket of the S3 server."""
    if request.param == "s3":
        request.getfixturevalue("s3_bucket")
    return request.param


def everything_stored() -> list[str]:
    return stored_files_under("documents")


def cached_copies() -> list[str]:
    cache = Path(settings.EXORA_CACHE_DIR)
    return sorted(p.name for p in cache.iterdir()) if cache.is_dir() else []


def read_document(client, stub_broker, lines: list[str]) -> Document:
    """A document uploaded by `client` and read by the workers: original, page images, cached copy."""
    content = born_digital_pdf([lines, [f"{lines[0]} (continued)"]])
    response = client.post("/api/v1/documents/", {"file": SimpleUploadedFile("notes.pdf", content)})
    assert response.status_code == 201, response.content
    drain(stub_broker)
    document = Document.objects.get(id=response.json()["id"])
    assert document.status == Document.Status.COMPLETED, document.error
    assert len(stored_files_under(f"documents/{document.id}")) == 3  # the original and two pages
    return document


def assert_nothing_left_of(document: Document) -> None:
    assert not Document.objects.filter(id=document.id).exists()
    assert not Job.objects.filter(document_id=document.id).exists()
    assert not Page.objects.filter(document_id=document.id).exists()
    assert [n for n in everything_stored() if str(document.id) in n] == []
    assert [n for n in cached_copies() if n.startswith(document.sha256)] == []
    if settings.EXORA_STORAGE == "local":
        assert not (Path(settings.MEDIA_ROOT) / "documents" / str(document.id)).exists()


def test_its_owner_deletes_it_from_its_page(storage, web_client, api_client, stub_broker, stub_worker):
    # GIVEN a document of theirs, read, and another one
    document = read_document(api_client, stub_broker, ["Allergy: penicillin."])
    kept = read_document(api_client, stub_broker, ["Blood pressure 130/85."])
    # WHEN they delete the first from its page
    response = web_client.post(f"/documents/{document.id}/delete/")
    # THEN it is gone with every file of it, and the other is untouched
    assert response.status_code == 302
    assert_nothing_left_of(document)
    assert len(stored_files_under(f"documents/{kept.id}")) == 3
    assert web_client.get(f"/documents/{document.id}/").status_code == 404


def test_its_owner_deletes_it_through_the_api(storage, api_client, stub_broker, stub_worker):
    document = read_document(api_client, stub_broker, ["Discharge summary."])
    # WHEN its owner sends DELETE
    response = api_client.delete(f"/api/v1/documents/{document.id}/")
    # THEN 204, and nothing is left
    assert response.status_code == 204, response.content
    assert_nothing_left_of(document)


def test_nobody_else_can_delete_it(api_client, other_user, stub_broker, stub_worker):
    document = read_document(api_client, stub_broker, ["Private note."])
    intruder = signed_in(other_user)
    assert intruder.post(f"/documents/{document.id}/delete/").status_code == 404
    assert intruder.delete(f"/api/v1/documents/{document.id}/").status_code == 404
    assert len(stored_files_under(f"documents/{document.id}")) == 3


def test_an_operator_deletes_it_in_the_admin(storage, api_client, stub_broker, stub_worker):
    document = read_document(api_client, stub_broker, ["Operative note."])
    operator = get_user_model().objects.create_superuser("root", password="a-long-operator-password")
    admin = signed_in(operator)
    # WHEN an operator confirms its deletion in the admin
    response = admin.post(f"/admin/documents/document/{document.id}/delete/", {"post": "yes"})
    # THEN it is gone with its files
    assert response.status_code == 302, response.content[:500]
    assert_nothing_left_of(document)


def test_deleting_a_person_deletes_their_documents_and_files(storage, user, api_client, stub_broker, stub_worker):
    document = read_document(api_client, stub_broker, ["Lab results: HbA1c 6.1%."])
    # WHEN their account is deleted
    user.delete()
    # THEN their documents and every file of them are gone
    assert_nothing_left_of(document)


def test_retention_deletes_finished_documents_past_their_time(storage, settings, api_client, stub_broker, stub_worker):
    # GIVEN retention of 30 days, a document finished 31 days ago and one finished today
    settings.EXORA_RETENTION_DAYS = 30
    old = read_document(api_client, stub_broker, ["Old visit."])
    recent = read_document(api_client, stub_broker, ["Recent visit."])
    Document.objects.filter(id=old.id).update(finished_at=timezone.now() - timedelta(days=31))
    # WHEN the daily purge runs
    out = io.StringIO()
    call_command("purge_expired", stdout=out)
    assert "Deleted 1 document(s)" in out.getvalue()
    # THEN the old one is gone with its files, and the recent one kept
    assert_nothing_left_of(old)
    assert len(stored_files_under(f"documents/{recent.id}")) == 3


def test_the_daily_duties_run_once_a_day_whoever_leads(storage, settings, api_client, stub_broker, stub_worker):
    # GIVEN retention of 30 days, a document past it, and no daily duties done today
    settings.EXORA_RETENTION_DAYS = 30
    old = read_document(api_client, stub_broker, ["Old visit."])
    Document.objects.filter(id=old.id).update(finished_at=timezone.now() - timedelta(days=31))
    cache.delete(retention.DAILY_DUTIES_KEY)
    try:
        # WHEN the leader runs them, and then a new leader (a restart, a failover) the same day
        runs = [retention.DailyDuties().run_when_due(), retention.DailyDuties().run_when_due()]
    finally:
        cache.delete(retention.DAILY_DUTIES_KEY)
    # THEN they ran once, the first time, and the old document is gone
    assert runs == [True, False]
    assert_nothing_left_of(old)


def test_retention_is_off_by_default(api_client, stub_broker, stub_worker):
    document = read_document(api_client, stub_broker, ["Kept for ever."])
    Document.objects.filter(id=document.id).update(finished_at=timezone.now() - timedelta(days=3650))
    assert retention.purge_expired() == 0
    assert Document.objects.filter(id=document.id).exists()


def test_the_sweep_deletes_what_no_row_owns_after_the_grace_period(
    storage, settings, tmp_path, api_client, stub_broker, stub_worker
):
    # GIVEN a read document, and files no row owns: a folder of a document that is not there
    # (an upload that failed half-way), a page image of a page stored twice, a killed worker's
    # scratch folder and its partial fetch in the cache
    document = read_document(api_client, stub_broker, ["Sweep me not."])
    owned = set(stored_files_under(f"documents/{document.id}"))
    lost_upload = default_storage.save(
        "documents/6a0c3f9e-5d59-4d1e-9b39-0d9b4ff3e6c1/original.pdf", ContentFile(b"%PDF")
    )
    lost_image = default_storage.save(f"documents/{document.id}/pages/00001-deadbeef0000.jpg", ContentFile(b"jpg"))
    settings.EXORA_TMP_DIR = tmp_path / "scratch"
    killed = settings.EXORA_TMP_DIR / "exora-3-abc"
    killed.mkdir(parents=True)
    (killed / "page-3.png").write_bytes(b"png")
    partial = Path(settings.EXORA_CACHE_DIR) / ".0123.pdf.ffff.part"
    partial.write_bytes(b"half")
    an_hour_ago = time.time() - 3600
    for path in (killed / "page-3.png", killed, partial):
        os.utime(path, (an_hour_ago, an_hour_ago))

    # WHEN the sweep runs within the grace period, THEN nothing goes
    assert retention.sweep_orphans().total == 0
    # WHEN it runs once they are past it
    swept = retention.sweep_orphans(now=timezone.now() + timedelta(hours=settings.EXORA_ORPHAN_GRACE_HOURS + 1))
    # THEN the orphans are gone and what the document owns is kept
    # (on the disk, earlier tests' documents, whose rows went with their transaction, are too)
    assert swept.stored >= 2 and swept.scratch == 1 and swept.cached >= 1
    assert not default_storage.exists(lost_upload) and not default_storage.exists(lost_image)
    assert set(everything_stored()) == owned
    assert not killed.exists() and not partial.exists()
    assert [n for n in cached_copies() if n.startswith(document.sha256)]
