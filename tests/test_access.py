"""Who sees what: a document exists only for its owner, on every page, download and API route."""

import json
import uuid

import pytest
from django.contrib.auth.models import User
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from rest_framework.test import APIClient

from documents.models import Document
from tests.conftest import drain
from tests.factories import png

ALICE_LINE = "Alice biopsy result benign."
MALLORY_LINE = "Mallory dental record."


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


# The return is left untyped: Django's stubs type a test response without the streaming_content
# that these tests read from file downloads.
def web_client(person: User):
    client = Client()
    client.force_login(person)
    return client


def api_client_for(person: User) -> APIClient:
    client = APIClient()
    client.force_authenticate(person)
    return client


def upload(person: User, name: str, line: str) -> Document:
    response = api_client_for(person).post(
        "/api/v1/documents/", {"file": SimpleUploadedFile(name, png([line]))}, format="multipart"
    )
    assert response.status_code == 201, response.content
    return Document.objects.get(id=response.json()["id"])


@pytest.fixture
def documents(user, other_user, stub_broker, stub_worker):
    """Alice's and Mallory's one-page scans, each read by the worker."""
    mine = upload(user, "alice-biopsy.png", ALICE_LINE)
    theirs = upload(other_user, "mallory-dental.png", MALLORY_LINE)
    drain(stub_broker)
    for document in (mine, theirs):
        document.refresh_from_db()
        assert document.status == Document.Status.COMPLETED, document.error
    return mine, theirs


def web_urls(document_id: object) -> list[str]:
    return [
        f"/documents/{document_id}/",
        f"/documents/{document_id}/pages/1.jpg",
        f"/documents/{document_id}/text/",
        f"/documents/{document_id}/json/",
        f"/documents/{document_id}/status.json",
    ]


def api_urls(document_id: object) -> list[str]:
    return [
        f"/api/v1/documents/{document_id}/",
        f"/api/v1/documents/{document_id}/result/",
        f"/api/v1/documents/{document_id}/text/",
    ]


def test_someone_elses_document_is_not_found_anywhere(documents, other_user):
    # GIVEN Alice's read document, and Mallory signed in on the web and the API
    mine, _theirs = documents
    web, api = web_client(other_user), api_client_for(other_user)

    # WHEN Mallory asks for each of its pages, images, downloads and API routes
    responses = {url: web.get(url) for url in web_urls(mine.id)}
    responses |= {url: api.get(url) for url in api_urls(mine.id)}

    # THEN every one is 404, as if it did not exist, and none leaks its text
    assert {url: r.status_code for url, r in responses.items()} == dict.fromkeys(responses, 404)
    for url, response in responses.items():
        content = b"".join(response.streaming_content) if response.streaming else response.content
        assert b"biopsy" not in content, url
        assert b"alice" not in content.lower(), url
    # AND the answer is the same as for a document that does not exist at all
    missing = uuid.uuid4()
    assert [web.get(url).status_code for url in web_urls(missing)] == [404] * 5
    assert [api.get(url).status_code for url in api_urls(missing)] == [404] * 3
    # AND the document itself is untouched
    mine.refresh_from_db()
    assert mine.status == Document.Status.COMPLETED


def test_the_owner_gets_every_page_and_download(documents, user):
    # GIVEN Alice's read document
    mine, _theirs = documents
    web, api = web_client(user), api_client_for(user)

    # WHEN Alice opens its page, its first page's image, and its downloads
    detail = web.get(f"/documents/{mine.id}/")
    image = web.get(f"/documents/{mine.id}/pages/1.jpg")
    text = web.get(f"/documents/{mine.id}/text/")
    result = web.get(f"/documents/{mine.id}/json/")
    status = web.get(f"/documents/{mine.id}/status.json")

    # THEN the page shows the OCR'd text
    assert detail.status_code == 200
    assert ALICE_LINE in detail.content.decode()
    # AND the image is a JPEG
    assert image.status_code == 200
    assert image["Content-Type"] == "image/jpeg"
    assert b"".join(image.streaming_content)[:3] == b"\xff\xd8\xff"
    # AND the downloads are attachments holding the OCR'd text
    assert text.status_code == 200
    assert text["Content-Disposition"] == f'attachment; filename="{mine.id}.txt"'
    assert text.content.decode() == f"--- page 1 ---\n{ALICE_LINE}\n"
    assert result.status_code == 200
    assert result["Content-Disposition"] == f'attachment; filename="{mine.id}.json"'
    body = json.loads(result.content)
    assert (body["file"], body["status"], body["error"]) == ("alice-biopsy.png", "completed", None)
    [page] = body["pages"]
    assert (page["number"], page["source"], page["text"]) == (1, "ocr", ALICE_LINE)
    assert [w["text"] for w in page["words"]] == ALICE_LINE.split()
    assert page["mean_confidence"] > 80
    # AND the status is complete
    state = json.loads(status.content)
    assert {key: state[key] for key in ("id", "status", "status_text", "pages_done", "pages_total", "finished")} == {
        "id": str(mine.id),
        "status": "completed",
        "status_text": "Completed",
        "pages_done": 1,
        "pages_total": 1,
        "finished": True,
    }
    assert state["position"] is None

    # AND WHEN Alice asks the API for the same document
    api_detail = api.get(f"/api/v1/documents/{mine.id}/")
    api_result = api.get(f"/api/v1/documents/{mine.id}/result/")
    api_text = api.get(f"/api/v1/documents/{mine.id}/text/")

    # THEN it answers with the same content
    assert api_detail.status_code == 200
    assert (api_detail.json()["status"], api_detail.json()["pages_done"]) == ("completed", 1)
    assert api_result.status_code == 200
    assert api_result.json()["pages"] == body["pages"]
    assert api_text.status_code == 200
    assert api_text.content.decode() == text.content.decode()


def test_lists_hold_only_my_own_documents(documents, user, other_user):
    # GIVEN Alice's and Mallory's documents
    mine, theirs = documents

    # WHEN each of them lists their documents on the web and through the API
    for person, own, other in ((user, mine, theirs), (other_user, theirs, mine)):
        page = web_client(person).get("/").content.decode()
        listed = api_client_for(person).get("/api/v1/documents/").json()

        # THEN each sees their own document and not the other's
        assert own.original_name in page and str(own.id) in page
        assert other.original_name not in page and str(other.id) not in page
        assert listed["count"] == 1
        assert [d["id"] for d in listed["results"]] == [str(own.id)]


def test_signed_out_visitors_are_sent_to_sign_in(documents, client):
    # GIVEN Alice's document and a visitor who is not signed in
    mine, _theirs = documents

    # WHEN the visitor asks for its page and downloads, and for the API
    responses = [client.get(url) for url in web_urls(mine.id)]
    api_response = APIClient().get(f"/api/v1/documents/{mine.id}/")

    # THEN each page redirects to the sign-in page, and the API refuses
    assert [r.status_code for r in responses] == [302] * 5
    assert all(r["Location"].startswith("/accounts/login/?next=") for r in responses)
    assert api_response.status_code in (401, 403)
