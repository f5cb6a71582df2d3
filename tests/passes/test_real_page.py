"""The passes on a page the real pipeline read with OCR: words, boxes and OCR's own slips."""

from pathlib import Path

import pytest

from processing.engine.passes import run_passes
from processing.engine.results import PageJson
from tests.conftest import read_file
from tests.factories import scanned_pdf

from .helpers import only


@pytest.fixture(scope="module")
def read_page(tmp_path_factory) -> list[PageJson]:
    lines = [
        "PROGRESS NOTE",
        "Patient: Maria Lopez   DOB: 03/14/1961   MRN: 204511",
        "Date of Service: 11/02/2023",
        "MEDICATIONS",
        "Metformin 500 mg PO BID",
        "Lisinopril 10 mg by mouth daily",
        "VITAL SIGNS",
        "BP 132/84 mmHg   Pulse 72",
        "ASSESSMENT",
        "Type 2 diabetes mellitus. Denies chest pain.",
    ]
    path = Path(tmp_path_factory.mktemp("ocr")) / "note.pdf"
    path.write_bytes(scanned_pdf([lines], height_in=5.0))
    result = read_file(path, "application/pdf", "force")
    assert result["status"] == "completed"
    pages: list[PageJson] = result["pages"]
    return pages


def test_passes_on_an_ocr_read_page(read_page):
    # GIVEN a scanned progress note read by the pipeline with OCR (the fixture)
    # WHEN the passes run on the stored pages
    result = run_passes(read_page)
    records = result["records"]
    # THEN the encounter, medications, vitals and conditions come out of the OCR words
    encounter = only(result["encounters"], type="progress_note")
    assert (encounter["start_date"], encounter["pages"]) == ("2023-11-02", [1])
    metformin = only(records["medications"], generic="metformin")
    assert (metformin["strength"], metformin["route"], metformin["frequency"]) == ("500 mg", "oral", "bid")
    assert only(records["medications"], generic="lisinopril")["frequency"] == "daily"
    bp = only(records["vitals"], type="blood_pressure")
    assert (bp["systolic"], bp["diastolic"]) == (132, 84)
    assert only(records["conditions"], name_normalised="type 2 diabetes mellitus")["icd10"] == "E11.9"
    assert only(records["conditions"], name_normalised="chest pain")["negated"] is True
    # and each record's boxes are the OCR word boxes it was read from, on the page
    words = {tuple(w["box"]) for w in read_page[0]["words"]}
    assert metformin["boxes"] and all(tuple(box) in words for box in metformin["boxes"])
    assert metformin["text"].startswith("Metformin 500 mg")


def test_database_pages_give_the_same_records(read_page):
    # GIVEN the same page as a (unsaved) Page row, as the workers store it
    from processing.models import Page

    stored = [Page(number=p["number"], text=p["text"], words=p["words"], width=2550, height=1500) for p in read_page]
    # WHEN the passes run on the rows and on the dicts
    # THEN they find the same encounters and records
    assert run_passes(stored) == run_passes(read_page)
