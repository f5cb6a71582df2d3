"""Bad input gets a clear error at upload, costs nothing else, and is checked again in the worker."""

import io
import uuid
from pathlib import Path

import pikepdf
import pytest
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from documents.models import Document
from processing.models import Job
from tests.conftest import drain, running_worker
from tests.factories import DATA, born_digital_pdf, replace_stored_file, scanned_pdf

API = "/api/v1/documents/"


def upload(client, name: str, content: bytes):
    return client.post(API, {"file": SimpleUploadedFile(name, content)}, format="multipart")


def stored_files(settings) -> list[Path]:
    root = Path(settings.MEDIA_ROOT) / "documents"
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


def with_broken_xref(pdf: bytes) -> bytes:
    return pdf[: pdf.rfind(b"startxref")] + b"startxref\n999999\n%%EOF\n"


def encrypted_with_empty_password(pdf: bytes) -> bytes:
    out = io.BytesIO()
    with pikepdf.open(io.BytesIO(pdf)) as document:
        document.save(out, encryption=pikepdf.Encryption(owner="owner-secret", user=""))
    return out.getvalue()


def zero_page_pdf() -> bytes:
    out = io.BytesIO()
    pikepdf.new().save(out)
    return out.getvalue()


def bomb_png() -> bytes:
    out = io.BytesIO()
    Image.new("1", (12_000, 12_000), 1).save(out, "PNG")
    return out.getvalue()


@pytest.mark.parametrize(
    ("name", "content", "status", "message"),
    [
        ("empty.pdf", b"", 400, "The file is empty"),
        ("notes.pdf", b"just some plain text, renamed to look like a PDF\n" * 20, 415, "not supported"),
        ("locked.pdf", (DATA / "pdfplumber_password-example.pdf").read_bytes(), 422, "password-protected"),
        ("invalid.pdf", (DATA / "invalid.pdf").read_bytes(), 422, "damaged and could not be repaired"),
        ("cut.pdf", (DATA / "pypdf_pdflatex-4-pages.pdf").read_bytes()[:20_000], 422, "could not be repaired"),
        ("nothing.pdf", zero_page_pdf(), 422, "no pages"),
        ("bomb.png", bomb_png(), 422, "144 megapixels"),
    ],
    ids=lambda value: value if isinstance(value, str) and len(value) < 40 else "",
)
def test_bad_upload_is_refused_with_a_clear_message(api_client, stub_broker, settings, name, content, status, message):
    # GIVEN a file we cannot read
    kept_before = set(stored_files(settings))
    # WHEN it is uploaded
    response = upload(api_client, name, content)

    # THEN the upload is refused with a message a person understands, and nothing is kept or queued
    assert response.status_code == status, response.content
    assert message in response.json()["detail"]
    assert not Document.objects.exists()
    assert set(stored_files(settings)) == kept_before
    assert all(not q.qsize() for q in stub_broker.queues.values())


def test_upload_over_the_size_limit_is_refused_while_streaming(api_client, settings):
    # GIVEN a 1 MB limit
    settings.EXORA_MAX_UPLOAD_MB = 1
    settings.EXORA_MAX_UPLOAD_BYTES = 1024 * 1024
    big = scanned_pdf([["x"]]) + b"\0" * (3 * 1024 * 1024)

    # WHEN a 3 MB file is uploaded
    response = upload(api_client, "big.pdf", big)

    # THEN it is refused with 413 before any document exists
    assert response.status_code == 413
    assert "1 MB limit" in response.json()["detail"]
    assert not Document.objects.exists()


def test_more_pages_than_the_limit_is_refused(api_client, settings):
    # GIVEN a limit of 3 pages
    settings.EXORA_MAX_PAGES = 3
    # WHEN a 4-page PDF is uploaded
    response = upload(api_client, "long.pdf", born_digital_pdf([["page"]] * 4))
    # THEN it is refused, saying both numbers
    assert response.status_code == 422
    assert response.json()["detail"] == "This document has 4 pages; the limit is 3."


def test_duplicate_upload_links_the_existing_document(api_client):
    # GIVEN a document already uploaded
    pdf = born_digital_pdf([["Discharge summary for the duplicate test"]])
    first = upload(api_client, "first.pdf", pdf)
    assert first.status_code == 201

    # WHEN the same bytes are uploaded again under another name
    again = upload(api_client, "again.pdf", pdf)

    # THEN the upload is refused and points at the first one
    assert again.status_code == 409
    assert "first.pdf" in again.json()["detail"]
    assert again.json()["existing"]["id"] == first.json()["id"]
    assert Document.objects.count() == 1


def test_repairable_pdfs_are_accepted_and_read(api_client, stub_broker, stub_worker):
    # GIVEN a PDF with a broken cross-reference table and one encrypted with the empty password
    broken = with_broken_xref(born_digital_pdf([["Repaired cross reference table reads fine"]]))
    locked = encrypted_with_empty_password(born_digital_pdf([["Empty password opens this record"]]))

    # WHEN both are uploaded and processed
    ids = [upload(api_client, name, pdf).json()["id"] for name, pdf in (("broken.pdf", broken), ("open.pdf", locked))]
    drain(stub_broker)

    # THEN both complete with their text, read from a repaired copy
    texts = {}
    for document in Document.objects.filter(id__in=ids):
        assert document.status == Document.Status.COMPLETED, document.error
        assert document.readable_file and default_storage.exists(str(document.readable_file.name))  # read instead
        texts[document.original_name] = document.pages.get(number=1).text
    assert "Repaired cross reference table reads fine" in texts["broken.pdf"]
    assert "Empty password opens this record" in texts["open.pdf"]


def test_file_damaged_after_upload_fails_in_the_worker_without_retries(api_client, stub_broker, transactional_db):
    # GIVEN an accepted upload whose stored file is then damaged on disk (its bytes of its own:
    # the workers' cache would otherwise hold a verified copy of them from another test)
    response = upload(api_client, "good.pdf", scanned_pdf([["fine at upload", uuid.uuid4().hex]]))
    document = Document.objects.get(id=response.json()["id"])
    replace_stored_file(document.file.name, (DATA / "invalid.pdf").read_bytes())
    # AND a good document uploaded after it
    good = upload(api_client, "other.pdf", born_digital_pdf([["The good document is not delayed"]])).json()["id"]

    # WHEN the workers run (started only now: one running already would have read the file
    # while it was still whole)
    with running_worker(stub_broker):
        drain(stub_broker)

    # THEN the damaged one failed once, with a clear reason, and the good one completed
    document.refresh_from_db()
    assert document.status == Document.Status.FAILED
    assert document.error == "This PDF is damaged and could not be repaired."
    attempts = Job.objects.get(document=document).attempts.all()
    assert [(a.stage, a.outcome, a.error_class) for a in attempts] == [("start", "failed", "PermanentError")]
    assert Document.objects.get(id=good).status == Document.Status.COMPLETED
