"""The full pipeline through a real Dramatiq worker on the in-process StubBroker."""

from django.core.files.uploadedfile import SimpleUploadedFile

from documents.models import Document
from tests.conftest import drain
from tests.factories import scanned_pdf


def test_uploaded_scan_is_read_page_by_page(api_client, stub_broker, stub_worker):
    # GIVEN a three-page scanned PDF with a known sentence on each page
    pdf = scanned_pdf([[f"Patient visit number {n} was uneventful."] for n in (1, 2, 3)])

    # WHEN it is uploaded through the API and the workers run
    response = api_client.post("/api/v1/documents/", {"file": SimpleUploadedFile("scan.pdf", pdf)}, format="multipart")
    assert response.status_code == 201, response.content
    drain(stub_broker)

    # THEN every page was OCR'd and the document completed
    document = Document.objects.get(id=response.json()["id"])
    assert document.status == Document.Status.COMPLETED, document.error
    assert document.page_count == 3
    assert document.pages_done == 3
    pages = list(document.pages.order_by("number"))
    for number, page in enumerate(pages, start=1):
        assert page.source == "ocr"
        assert f"number {number} was uneventful" in page.text
        assert page.mean_confidence is not None  # narrows the type
        assert page.mean_confidence > 80
    assert {"wait", "conversion", "ocr", "total"} <= document.timings.keys()
