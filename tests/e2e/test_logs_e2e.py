"""No medical details in logs: a full run (upload, real workers reading and extracting, every
read door, deletion) leaves the uploaded file's name and its text nowhere in the logs of the
web server, its access log or the workers."""

import re

import pytest
from django.contrib.auth import get_user_model

from tests.e2e.conftest import PASSWORD, signed_in_opener
from tests.factories import api_token, born_digital_pdf, scanned_pdf

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

FILE_NAMES = ("quaxworth-zebulon-psychiatry.pdf", "quaxworth-hiv-panel.pdf")
SCANNED = ["Zebulon Quaxworth takes quetiapine nightly.", "Diagnosis schizophrenia, stable on treatment."]
DIGITAL = ["Quaxworth HIV viral load undetectable.", "Continue dolutegravir lamivudine daily."]


def test_a_full_run_logs_no_file_name_and_no_text(api_for, worker_pool, e2e_processes):
    # GIVEN a person with a token, the web server and two workers, at their production log level
    user = get_user_model().objects.create_user("zeb", password=PASSWORD)
    api = api_for(api_token(user))

    # WHEN a scan and a born-digital PDF with telling names are uploaded, read and extracted
    uploads = [
        api.upload(FILE_NAMES[0], scanned_pdf([[line] for line in SCANNED])),
        api.upload(FILE_NAMES[1], born_digital_pdf([[line] for line in DIGITAL])),
    ]
    ids = []
    for status, body in uploads:
        assert status == 201, body
        ids.append(body["id"])
    for document_id in ids:
        assert api.wait_until_finished(document_id, e2e_processes)["status"] == "completed"
    # AND every door reads them, then one is deleted
    texts = []
    for document_id in ids:
        for path in ("", "result/", "text/"):
            status, body = api.request("GET", f"/api/v1/documents/{document_id}/{path}")
            assert status == 200
        texts.append(body.decode())
        with signed_in_opener(api.base_url, "zeb").open(f"{api.base_url}/documents/{document_id}/pages/1.jpg") as image:
            assert image.read(2) == b"\xff\xd8"  # a session's door: the page's JPEG
    assert api.request("DELETE", f"/api/v1/documents/{ids[1]}/")[0] == 204

    # THEN no log line has a file name or a word of the text that was read
    words = {w for text in texts for w in re.findall(r"[A-Za-z]{7,}", text)}
    assert {"Quaxworth", "quetiapine"} <= words, texts  # what was read is in the texts compared
    logs = {path.name: path.read_text(errors="replace") for path in e2e_processes.log_dir.iterdir()}
    assert set(logs) >= {"web.log", "worker.log"}
    assert "GET /api/v1/documents/" in logs["web.log"]  # its access log is in it
    assert "completed" in logs["worker.log"]  # the workers did log their work
    for name, text in logs.items():
        for secret in (*FILE_NAMES, "quaxworth-zebulon", *words):
            assert secret.lower() not in text.lower(), f"{secret!r} in {name}"
