"""Uploading: POST /api/v1/documents/, token and anonymous access, the schema, the web form."""

import hashlib

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from rest_framework.test import APIClient

from documents.models import Document
from tests.factories import api_token, born_digital_pdf, png

URL = "/api/v1/documents/"


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    """The users made for each test are hashed in microseconds instead of most of a second."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def post_file(client: APIClient, name: str, content: bytes, **fields: str):  # the response: a type private to the stubs
    return client.post(URL, {"file": SimpleUploadedFile(name, content), **fields}, format="multipart")


def test_upload_is_queued_with_links_size_and_hash(api_client, user):
    # GIVEN a born-digital PDF
    content = born_digital_pdf([["Admission note: chest pain, ECG normal."]])

    # WHEN it is uploaded
    response = post_file(api_client, "admission.pdf", content)

    # THEN it is accepted and queued, and the body says where to find it
    assert response.status_code == 201, response.content
    body = response.json()
    document_id = body["id"]
    assert body["status"] == "queued"
    assert body["original_name"] == "admission.pdf"
    assert body["links"] == {
        "self": f"http://testserver/api/v1/documents/{document_id}/",
        "result": f"http://testserver/api/v1/documents/{document_id}/result/",
        "text": f"http://testserver/api/v1/documents/{document_id}/text/",
        "web": f"http://testserver/documents/{document_id}/",
    }
    assert response["Location"] == body["links"]["self"]
    # AND its size, hash and type are those of the bytes sent
    assert body["size_bytes"] == len(content)
    assert body["sha256"] == hashlib.sha256(content).hexdigest()
    assert body["mime_type"] == "application/pdf"
    # AND the stored document belongs to the uploader and keeps the bytes unchanged
    document = Document.objects.get(id=document_id)
    assert document.owner == user
    assert (document.size_bytes, document.sha256) == (len(content), body["sha256"])
    with document.file.open("rb") as stored:
        assert stored.read() == content
    # AND the self link serves the same document
    assert api_client.get(body["links"]["self"]).json()["sha256"] == body["sha256"]


def test_type_comes_from_the_bytes_not_the_name(api_client):
    # GIVEN a PNG image named as if it were a PDF
    content = png(["Lab result: haemoglobin 13.5 g/dL."])

    # WHEN it is uploaded
    response = post_file(api_client, "x.pdf", content)

    # THEN it is taken as the PNG it is, and stored as one
    assert response.status_code == 201, response.content
    assert response.json()["mime_type"] == "image/png"
    document = Document.objects.get(id=response.json()["id"])
    assert document.original_name == "x.pdf"
    assert document.file.name is not None  # narrows the type
    assert document.file.name.endswith(".png")


def test_text_named_pdf_is_refused_as_unsupported(api_client):
    # GIVEN a text file named as if it were a PDF
    content = b"Progress notes typed in a text editor.\nNot a PDF at all.\n"

    # WHEN it is uploaded
    response = post_file(api_client, "x.pdf", content)

    # THEN it is refused as an unsupported type, with a message that says what to send
    assert response.status_code == 415, response.content
    detail = response.json()["detail"]
    assert "text/plain" in detail
    assert "not supported" in detail and "PDF" in detail
    # AND nothing was stored
    assert not Document.objects.exists()


def test_empty_file_is_refused(api_client):
    # GIVEN an empty file
    # WHEN it is uploaded
    response = post_file(api_client, "empty.pdf", b"")

    # THEN it is refused as a bad request that names the problem, and nothing is stored
    assert response.status_code == 400, response.content
    assert "empty" in str(response.json()).lower()
    assert not Document.objects.exists()


def test_missing_file_field_and_unknown_ocr_mode_are_refused(api_client):
    # GIVEN no file at all, and a good file with an OCR mode that does not exist
    # WHEN each is posted
    no_file = api_client.post(URL, {}, format="multipart")
    bad_mode = post_file(api_client, "a.png", png(["Ward 3"]), ocr_mode="sometimes")

    # THEN both are bad requests naming the field at fault
    assert no_file.status_code == 400 and "file" in no_file.json()
    assert bad_mode.status_code == 400 and "ocr_mode" in bad_mode.json()
    assert not Document.objects.exists()


def test_ocr_mode_is_recorded(api_client):
    # GIVEN a born-digital PDF, WHEN it is uploaded asking for OCR to be forced
    response = post_file(api_client, "f.pdf", born_digital_pdf([["Force me."]]), ocr_mode="force")

    # THEN the document will be OCR'd whatever its text layer
    assert response.status_code == 201, response.content
    assert response.json()["ocr_mode"] == "force"
    assert Document.objects.get(id=response.json()["id"]).ocr_mode == "force"


def test_token_authentication(user):
    # GIVEN a client that sends only an API token
    token = api_token(user)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")

    # WHEN it uploads and then lists documents
    created = post_file(client, "token.png", png(["Sent with a token."]))
    listed = client.get(URL)

    # THEN the upload belongs to the token's user and is in their list
    assert created.status_code == 201, created.content
    assert Document.objects.get(id=created.json()["id"]).owner == user
    assert listed.status_code == 200
    assert [d["id"] for d in listed.json()["results"]] == [created.json()["id"]]


@pytest.mark.parametrize("authorization", [None, "Token not-a-real-token"])
def test_anonymous_and_bad_tokens_are_refused(db, authorization):
    # GIVEN a client with no credentials, or a token that does not exist
    client = APIClient()
    if authorization:
        client.credentials(HTTP_AUTHORIZATION=authorization)

    # WHEN it lists or uploads
    listed = client.get(URL)
    created = post_file(client, "anon.png", png(["Anonymous."]))

    # THEN both are refused and nothing is stored
    assert listed.status_code in (401, 403)
    assert created.status_code in (401, 403)
    assert "results" not in listed.json()
    assert not Document.objects.exists()


def test_the_schema_and_the_docs_need_a_signed_in_user(client, db):
    assert client.get("/api/schema/", {"format": "json"}).status_code in (401, 403)
    assert client.get("/api/docs/").status_code in (401, 403)


def test_the_docs_are_served_from_here_not_a_cdn(web_client):
    page = web_client.get("/api/docs/").content.decode()
    assert "/static/drf_spectacular_sidecar/swagger-ui-dist/" in page
    assert "cdn" not in page.lower() and "<script>" not in page


def test_openapi_schema_lists_the_documents_endpoints(api_client):
    # GIVEN the API (WHEN its schema is fetched as JSON by a signed-in user)
    response = api_client.get("/api/schema/", {"format": "json"})

    # THEN it is an OpenAPI document with the upload and the read endpoints
    assert response.status_code == 200
    schema = response.json()
    assert schema["openapi"].startswith("3.")
    assert schema["info"]["title"] == "Exora API"
    paths = schema["paths"]
    assert {"get", "post"} <= paths["/api/v1/documents/"].keys()
    assert "multipart/form-data" in paths["/api/v1/documents/"]["post"]["requestBody"]["content"]
    assert "/api/v1/documents/{id}/" in paths
    assert "/api/v1/documents/{id}/result/" in paths
    assert "/api/v1/documents/{id}/text/" in paths


def test_web_form_uploads_several_files(client, user):
    # GIVEN a signed-in person with two good files and one that is not a document
    client.force_login(user)
    first = png(["Radiology report page one."])
    second = born_digital_pdf([["Radiology report page two."]])
    files = [
        SimpleUploadedFile("one.png", first),
        SimpleUploadedFile("two.pdf", second),
        SimpleUploadedFile("three.pdf", b"plain text pretending to be a PDF\n"),
    ]

    # WHEN the upload form posts all three at once
    response = client.post("/upload/", {"file": files}, follow=True)

    # THEN they land back on their list
    assert response.redirect_chain[-1] == ("/", 302)
    assert response.status_code == 200
    # AND the two good files became queued documents with their own type, size and hash
    documents = {d.original_name: d for d in Document.objects.filter(owner=user)}
    assert documents.keys() == {"one.png", "two.pdf"}
    assert (documents["one.png"].mime_type, documents["two.pdf"].mime_type) == ("image/png", "application/pdf")
    assert documents["one.png"].sha256 == hashlib.sha256(first).hexdigest()
    assert documents["two.pdf"].size_bytes == len(second)
    assert {d.status for d in documents.values()} == {"queued"}
    # AND the list shows both, and says why the third was refused
    page = response.content.decode()
    assert "one.png" in page and "two.pdf" in page
    assert "three.pdf: This file type (text/plain) is not supported" in page


def test_web_upload_needs_a_signed_in_person(client, db):
    # GIVEN nobody signed in, WHEN the upload form is posted
    response = client.post("/upload/", {"file": [SimpleUploadedFile("a.png", png(["x"]))]})

    # THEN they are sent to sign in, and nothing is stored
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")
    assert not Document.objects.exists()


def test_a_limit_or_offset_past_what_a_database_counts_is_a_page_not_an_error(api_client):
    # GIVEN a person with two documents
    for name in ("a.pdf", "b.pdf"):
        assert post_file(api_client, name, born_digital_pdf([[f"Note {name}"]])).status_code == 201
    # WHEN the list is asked for with a limit, then an offset, past PostgreSQL's bigint
    huge = 2**63
    many = api_client.get(f"{URL}?limit={huge}")
    none = api_client.get(f"{URL}?offset={huge}")
    # THEN both are pages: every document, then none
    assert many.status_code == 200 and many.json()["count"] == 2 and len(many.json()["results"]) == 2
    assert none.status_code == 200 and none.json()["results"] == []
