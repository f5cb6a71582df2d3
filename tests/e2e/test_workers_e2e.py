"""Uploads through the API of a real web server (runweb), read by real rundramatiq workers over Redis."""

from typing import Any

import pytest
from django.contrib.auth import get_user_model

from tests.factories import api_token, born_digital_pdf, scanned_pdf

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

SCANNED_PAGES = [f"Patient visit number {n} was uneventful." for n in (1, 2, 3)]
DIGITAL_PAGES = [
    "Discharge summary for ward seven, bed twelve.",
    "Medication list reviewed with the attending physician.",
]


def test_scanned_and_born_digital_pdfs_are_read_by_real_workers(api_for, worker_pool, e2e_processes):
    # GIVEN a user with an API token, a running web server and a pool of two worker processes
    user = get_user_model().objects.create_user("erin", password="correct-horse-battery")
    api = api_for(api_token(user))
    logs = e2e_processes.logs

    # WHEN a three-page scan and a two-page born-digital PDF are uploaded over HTTP
    uploads = {
        "scan": api.upload("scan.pdf", scanned_pdf([[sentence] for sentence in SCANNED_PAGES])),
        "digital": api.upload("summary.pdf", born_digital_pdf([[sentence] for sentence in DIGITAL_PAGES])),
    }
    for name, (status, body) in uploads.items():
        assert status == 201, f"{name} upload: {status} {body}\n\n{logs()}"
    ids = {name: body["id"] for name, (_status, body) in uploads.items()}
    finished = {name: api.wait_until_finished(document_id, e2e_processes) for name, document_id in ids.items()}

    # THEN both completed, every page counted
    for name, document in finished.items():
        assert document["status"] == "completed", f"{name}: {document}\n\n{logs()}"
        expected = len(SCANNED_PAGES if name == "scan" else DIGITAL_PAGES)
        assert document["page_count"] == expected, document
        assert document["pages_done"] == document["page_count"], document
        assert {"wait", "ocr", "total"} <= document["timings"].keys(), document

    # AND the scan's pages were OCR'd, each with its own sentence and its words in boxes
    scan = api.get_json(f"/api/v1/documents/{ids['scan']}/result/")
    assert scan["status"] == "completed"
    assert [page["number"] for page in scan["pages"]] == [1, 2, 3]
    for number, page in enumerate(scan["pages"], start=1):
        assert page["source"] == "ocr", page
        assert f"number {number} was uneventful" in page["text"], f"page {number}: {page['text']!r}"
        assert page["mean_confidence"] > 80, page["mean_confidence"]
        _assert_words_in_boxes(page, expected_word="uneventful.")

    # AND the born-digital pages were taken from their text layer, word for word
    digital = api.get_json(f"/api/v1/documents/{ids['digital']}/result/")
    assert [page["number"] for page in digital["pages"]] == [1, 2]
    for page, sentence in zip(digital["pages"], DIGITAL_PAGES, strict=True):
        assert page["source"] == "text_layer", page
        assert page["text"].strip() == sentence
        assert [word["text"] for word in page["words"]] == sentence.split()
        _assert_words_in_boxes(page, expected_word=sentence.split()[0])

    # AND the plain-text download has every page, in order
    status, text = api.request("GET", f"/api/v1/documents/{ids['scan']}/text/")
    assert status == 200
    text = text.decode()
    assert text.index("--- page 1 ---") < text.index("--- page 2 ---") < text.index("--- page 3 ---")


def _assert_words_in_boxes(page: dict[str, Any], expected_word: str) -> None:
    words = page["words"]
    assert expected_word in [word["text"] for word in words], [word["text"] for word in words]
    for word in words:
        x0, y0, x1, y1 = word["box"]
        assert 0 <= x0 < x1 and 0 <= y0 < y1, word
        assert 0 <= word["confidence"] <= 100, word
