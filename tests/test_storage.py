"""Files in an S3 bucket (a real SeaweedFS server), read by the workers through their cache.

The storage is reached only through Django's storage API: the S3 storage has no local path, so
any code asking for one would fail these tests.
"""

import os
import time
import urllib.request
from pathlib import Path

import boto3
from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile

from documents.models import Document
from exora.storage import SINGLE_REQUEST_BYTES
from processing import files
from processing.models import Page
from tests.conftest import bucket_keys, drain, start_document
from tests.factories import born_digital_pdf, replace_stored_file, scanned_pdf

API = "/api/v1/documents/"


def upload(api_client, name: str, content: bytes) -> Document:
    response = api_client.post(API, {"file": SimpleUploadedFile(name, content)}, format="multipart")
    assert response.status_code == 201, response.content
    return Document.objects.get(id=response.json()["id"])


def test_originals_and_page_images_live_in_the_bucket(api_client, web_client, s3_bucket, stub_broker, stub_worker):
    # GIVEN documents stored in the bucket
    scan = upload(api_client, "scan.pdf", scanned_pdf([["Admitted with chest pain."], ["Discharged on day two."]]))

    # WHEN the workers read it
    drain(stub_broker)

    # THEN it completed, and the bucket holds its original and one image per page, which the
    # pages name: nothing else
    scan.refresh_from_db()
    assert scan.status == Document.Status.COMPLETED, scan.error
    pages = list(Page.objects.filter(document=scan).order_by("number"))
    assert [p.text for p in pages] == ["Admitted with chest pain.", "Discharged on day two."]
    assert bucket_keys(s3_bucket) == {scan.file.name, *(p.image.name for p in pages)}
    # AND nothing of it was written under the local media folder
    assert not list(Path(settings.MEDIA_ROOT).glob(f"documents/{scan.id}*"))
    # AND its owner gets each page's image, streamed through the ownership check, as stored
    response = web_client.get(f"/documents/{scan.id}/pages/1.jpg")
    assert response.status_code == 200 and response["Content-Type"] == "image/jpeg"
    with pages[0].image.open("rb") as stored:
        assert b"".join(response.streaming_content) == stored.read()


def test_a_signed_link_to_the_bucket_expires_and_is_given_to_the_owner_only(
    api_client, web_client, other_user, s3_bucket, stub_broker, stub_worker, settings
):
    # GIVEN a read document in the bucket, and signed links on
    settings.EXORA_S3_SIGNED_URLS = True
    document = upload(api_client, "typed.pdf", born_digital_pdf([["Typed note with a text layer."]]))
    drain(stub_broker)

    # WHEN its owner asks for a page image
    response = web_client.get(f"/documents/{document.id}/pages/1.jpg")

    # THEN the answer is a redirect to a signed link that expires within a minute, and works
    assert response.status_code == 302
    link = response["Location"]
    assert link.startswith(f"{settings.EXORA_S3_ENDPOINT_URL}/{s3_bucket}/documents/{document.id}/pages/")
    assert "Signature=" in link or "X-Amz-Signature=" in link
    with urllib.request.urlopen(link, timeout=10) as fetched:  # the S3 server on localhost
        assert fetched.read(2) == b"\xff\xd8"
    # AND someone else gets no link at all
    web_client.force_login(other_user)
    assert web_client.get(f"/documents/{document.id}/pages/1.jpg").status_code == 404


def test_a_repaired_copy_is_kept_in_the_bucket_and_read_instead(api_client, s3_bucket, stub_broker, stub_worker):
    # GIVEN a PDF encrypted with the empty password, which the upload decrypts to a copy
    import io

    import pikepdf

    buffer = io.BytesIO()
    with pikepdf.open(io.BytesIO(born_digital_pdf([["Opened with the empty password."]]))) as pdf:
        pdf.save(buffer, encryption=pikepdf.Encryption(owner="owner", user=""))
    document = upload(api_client, "locked.pdf", buffer.getvalue())

    # WHEN it is read
    drain(stub_broker)

    # THEN the copy is in the bucket beside the original, and the text came from it
    document.refresh_from_db()
    assert document.status == Document.Status.COMPLETED, document.error
    assert document.readable_file.name in bucket_keys(s3_bucket)
    assert "Opened with the empty password." in Page.objects.get(document=document, number=1).text


def test_the_losing_copy_of_a_page_read_twice_is_deleted(api_client, s3_bucket, stub_broker, tmp_path):
    # GIVEN a planned one-page document, whose page was read twice (a repeated delivery)
    from processing import options, pipeline
    from processing.engine.reader import read_page
    from tests.conftest import source_file

    document = upload(api_client, "once.pdf", born_digital_pdf([["Stored once, whatever happens."]]))
    assert start_document(document.id) == [1]
    readings = []
    for attempt in ("first", "second"):
        (tmp_path / attempt).mkdir()
        source = source_file(document.id, tmp_path / attempt)
        readings.append(read_page(source, document.mime_type, 1, tmp_path / attempt, options.read_options()))

    # WHEN both are stored
    stored = [pipeline.store_pages(str(document.id), [reading]) for reading in readings]

    # THEN the first stored the page, and the bucket holds only the image its row names
    assert stored == [True, False]
    page = Page.objects.get(document=document, number=1)
    images = {key for key in bucket_keys(s3_bucket) if "/pages/" in key}
    assert images == {page.image.name}


def test_a_stored_file_changed_after_upload_is_read_as_stored_not_from_the_cache(
    api_client, s3_bucket, stub_broker, tmp_path, settings
):
    # GIVEN a document whose file is in the cache, then replaced in the bucket
    document = upload(api_client, "note.pdf", born_digital_pdf([["The first version."]]))
    cached = files.cached_source(str(document.file.name), document.sha256, tmp_path)
    assert cached.parent == Path(settings.EXORA_CACHE_DIR) and cached.read_bytes()[:4] == b"%PDF"
    replacement = born_digital_pdf([["A second version, stored later."]])
    replace_stored_file(document.file.name, replacement)
    cached.unlink()

    # WHEN a worker fetches it again
    fetched = files.cached_source(str(document.file.name), document.sha256, tmp_path)

    # THEN it reads what is stored, from its scratch folder, and the cache keeps no such content
    assert fetched.parent == tmp_path and fetched.read_bytes() == replacement
    assert not cached.exists()


def test_the_cache_keeps_its_size_dropping_the_least_recently_used(tmp_path, settings):
    # GIVEN a cache of 1 MB holding three files of 400 kB: used long ago, a while ago, now
    settings.EXORA_CACHE_DIR = tmp_path / "cache"
    settings.EXORA_CACHE_MAX_MB = 1
    settings.EXORA_PAGE_TIMEOUT = 60
    cache = Path(settings.EXORA_CACHE_DIR)
    cache.mkdir()
    now = time.time()
    ages = {"old": 3600, "older": 7200, "in-use": 10}
    for name, age in ages.items():
        path = cache / f"{name}.pdf"
        path.write_bytes(b"x" * 400_000)
        os.utime(path, (now - age, now - age))
    newest = cache / "new.pdf"
    newest.write_bytes(b"x" * 400_000)

    # WHEN the cache is trimmed after the newest one came in
    evicted = files.evict_least_recently_used(keep=newest)

    # THEN the least recently used went first, until it fits; the one read a moment ago stays
    assert evicted == 2
    assert sorted(p.name for p in cache.iterdir()) == ["in-use.pdf", "new.pdf"]


def test_small_and_large_files_go_up_whole_with_their_content_type(s3_bucket):
    # GIVEN the bucket storage, a page image's size and an upload's beyond one request
    small, large = os.urandom(40_000), os.urandom(SINGLE_REQUEST_BYTES + 1)
    # WHEN both are saved
    small_name = default_storage.save("documents/x/pages/1.jpg", ContentFile(small))
    large_name = default_storage.save("documents/x/original.pdf", ContentFile(large))
    # THEN each reads back as it was, typed by its name, and a name taken is not overwritten
    client = boto3.client("s3", endpoint_url=settings.EXORA_S3_ENDPOINT_URL, region_name=settings.EXORA_S3_REGION)
    for name, content, content_type in ((small_name, small, "image/jpeg"), (large_name, large, "application/pdf")):
        stored = client.get_object(Bucket=s3_bucket, Key=name)
        assert stored["Body"].read() == content and stored["ContentType"] == content_type
    assert default_storage.save("documents/x/pages/1.jpg", ContentFile(b"other")) != small_name
