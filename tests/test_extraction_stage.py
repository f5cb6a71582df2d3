"""The extraction passes as the last stage of a document's job: stored, served, shown, retried."""

import io
import json
from typing import Any

from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command

from documents.models import Document
from processing import actors, options, pipeline
from processing.engine.reader import read_page
from processing.models import Attempt
from processing.pipeline import ExtractRecords
from tests.conftest import drain, source_file, start_document
from tests.factories import born_digital_pdf

API = "/api/v1/documents/"
RECORD = [
    "PROGRESS NOTE",
    "Date of service: 03/14/2024",
    "Provider: Dr. Jane Smith",
    "Facility: Riverside Clinic",
    "Allergies: No known allergies.",
    "No allergy to penicillin.",
    "Medications:",
    "Metformin 500 mg by mouth twice daily",
    "Lisinopril 10 mg daily",
    "Labs:",
    "Hemoglobin A1c 7.2 % (4.0-5.6) H",
    "Assessment: Type 2 diabetes mellitus. Denies chest pain.",
]


def upload(client, name: str, content: bytes) -> Document:
    response = client.post(API, {"file": SimpleUploadedFile(name, content)}, format="multipart")
    assert response.status_code == 201, response.content
    return Document.objects.get(id=response.json()["id"])


def only(records: list[dict[str, Any]], **fields: object) -> dict[str, Any]:
    found = [r for r in records if all(r.get(k) == v for k, v in fields.items())]
    assert len(found) == 1, (fields, records)
    return found[0]


def assert_records_of_the_note(result: dict[str, Any]) -> None:
    """The encounter and records RECORD holds, each tied to page 1 and its words."""
    (encounter,) = result["encounters"]
    assert (encounter["type"], encounter["pages"], encounter["start_date"]) == ("progress_note", [1], "2024-03-14")
    assert (encounter["provider"], encounter["facility"]) == ("Dr. Jane Smith", "Riverside Clinic")
    records = result["records"]
    metformin = only(records["medications"], generic="metformin")
    assert (metformin["strength"], metformin["frequency"], metformin["route"]) == ("500 mg", "bid", "oral")
    assert (metformin["encounter"], metformin["page"], metformin["negated"]) == (encounter["id"], 1, False)
    assert metformin["text"] == "Metformin 500 mg by mouth twice daily" and len(metformin["boxes"]) == 7
    a1c = only(records["labs"], test_normalised="Hemoglobin A1c")
    assert (a1c["value"], a1c["unit"], a1c["reference_range"], a1c["flag"]) == ("7.2", "%", "4.0-5.6", "H")
    nka = only(records["allergies"], no_known=True)
    assert (nka["substance"], nka["text"]) == (None, "No known allergies.")
    assert only(records["allergies"], substance="penicillin")["negated"] is True
    assert only(records["conditions"], name_normalised="chest pain")["negated"] is True
    assert only(records["conditions"], name_normalised="type 2 diabetes mellitus")["icd10"] == "E11.9"


def test_read_document_is_extracted_served_and_shown(api_client, web_client, stub_broker, stub_worker):
    # GIVEN a born-digital progress note with medications, a lab line and negated mentions
    document = upload(api_client, "note.pdf", born_digital_pdf([RECORD]))

    # WHEN the workers run every stage
    drain(stub_broker)

    # THEN it completed through the extraction stage, recorded as one successful attempt
    document.refresh_from_db()
    assert document.status == Document.Status.COMPLETED, document.error
    assert document.finished_at is not None and "total" in document.timings
    stages = [(a.stage, a.outcome) for a in Attempt.objects.filter(job__document=document).order_by("started_at")]
    assert stages == [("start", "succeeded"), ("page", "succeeded"), ("extract", "succeeded")]

    # AND the API result and the JSON download carry the encounters and records
    result = api_client.get(f"{API}{document.id}/result/").json()
    assert_records_of_the_note(result)
    assert result["pages"][0]["number"] == 1
    download = json.loads(web_client.get(f"/documents/{document.id}/json/").content)
    assert download["records"] == result["records"]

    # AND the document page lists the encounter and its records, negated ones marked, with
    # the boxes to highlight as JSON
    page = web_client.get(f"/documents/{document.id}/").text
    assert "Progress note" in page and "Dr. Jane Smith" in page and "Riverside Clinic" in page
    assert "Metformin" in page and "500 mg" in page and "Hemoglobin A1c" in page
    assert 'class="record record-negated"' in page and "No known allergies" in page
    assert 'id="record-boxes"' in page and 'data-width="' in page


PAPER = [
    "Scheduling Policies for Shared Clusters",
    "Abstract. We compare round-robin (RR) and FIFO schedulers on three loads.",
    "Results",
    "RR 12 14 16   FIFO 18 20 22   Temp 37 38 39",
    "K 4.1 5.0 at 676 nodes",
]


def test_a_document_that_is_no_clinical_record_is_labelled_so_with_no_records(
    api_client, web_client, stub_broker, stub_worker
):
    # GIVEN a born-digital page of a computing paper with numbers under 'RR', 'Temp' and 'K'
    document = upload(api_client, "paper.pdf", born_digital_pdf([PAPER]))
    # WHEN the workers run every stage
    drain(stub_broker)
    # THEN the result says it is not a clinical record and holds no record of any kind
    result = api_client.get(f"{API}{document.id}/result/").json()
    assert result["document_kind"] == "not_clinical"
    assert result["encounters"] == [] and all(found == [] for found in result["records"].values())
    # AND the document page says why nothing was read
    assert "does not look like a clinical record" in web_client.get(f"/documents/{document.id}/").text


def test_last_page_stored_moves_the_document_to_extracting_and_queues_it_once(
    api_client, stub_broker, tmp_path, django_capture_on_commit_callbacks
):
    # GIVEN a one-page document whose page was read
    document = upload(api_client, "one.pdf", born_digital_pdf([RECORD]))
    assert start_document(str(document.id)) == [1]
    result, display = read_page(
        source_file(document.id, tmp_path), document.mime_type, 1, tmp_path, options.read_options()
    )

    # WHEN the page is stored, twice (a repeated delivery)
    with django_capture_on_commit_callbacks(execute=True):
        first = pipeline.store_pages(str(document.id), [(result, display)])
        second = pipeline.store_pages(str(document.id), [(result, display)])

    # THEN the first stored the last page: the document is extracting, not completed, with
    # one extraction queued
    assert (first, second) == (True, False)
    document.refresh_from_db()
    assert document.status == Document.Status.EXTRACTING
    assert document.status_text == "Extracting records"
    assert document.finished_at is None and document.extraction == {}
    queued = [json.loads(m) for m in stub_broker.queues["documents"].queue]
    assert [(m["actor_name"], m["args"]) for m in queued] == [("extract_document", [str(document.id)])]

    # AND running the extraction twice completes it once; a finished document is left alone
    assert ExtractRecords(str(document.id)).run() is True
    assert ExtractRecords(str(document.id)).run() is False
    document.refresh_from_db()
    assert document.status == Document.Status.COMPLETED
    assert_records_of_the_note(document.extraction)


def test_process_json_has_encounters_and_records(tmp_path):
    # GIVEN the note as a local file
    path = tmp_path / "note.pdf"
    path.write_bytes(born_digital_pdf([RECORD]))

    # WHEN it is processed from the command line with --json
    out = io.StringIO()
    call_command("process", str(path), "--json", stdout=out)

    # THEN the file's JSON carries its pages and what the passes found in them
    result = json.loads(out.getvalue())
    assert result["status"] == "completed"
    assert_records_of_the_note(result)
    assert set(result["records"]) == {
        "medications",
        "labs",
        "vitals",
        "conditions",
        "allergies",
        "immunizations",
        "procedures",
    }


def test_failing_passes_are_retried_then_fail_the_document(api_client, stub_broker, stub_worker, monkeypatch):
    # GIVEN passes that always raise, and retries that wait only milliseconds
    def broken(pages, date_order=None):
        raise RuntimeError("vocabulary file is corrupt")

    monkeypatch.setattr(pipeline, "run_passes", broken)
    monkeypatch.setitem(actors.extract_document.options, "min_backoff", 10)
    monkeypatch.setitem(actors.extract_document.options, "max_backoff", 20)
    document = upload(api_client, "note.pdf", born_digital_pdf([RECORD]))

    # WHEN the workers run
    drain(stub_broker)

    # THEN the extraction was tried 4 times, and the document failed with a reason, its
    # pages kept (a retry reads none again)
    document.refresh_from_db()
    assert document.status == Document.Status.FAILED
    assert document.error == "An internal error stopped processing. We tried 4 times."
    extracts = Attempt.objects.filter(job__document=document, stage=Attempt.Stage.EXTRACT).order_by("started_at")
    assert [a.outcome for a in extracts] == ["retrying"] * 3 + ["failed"]
    assert {a.message for a in extracts} == {"vocabulary file is corrupt"}
    assert document.pages_done == 1 and document.extraction == {}
