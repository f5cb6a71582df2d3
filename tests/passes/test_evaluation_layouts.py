"""The evaluation's split, layouts and degraded scans: recorded, value-preserving, reproducible."""

import io

import pikepdf

from evaluation import layouts, scan, split
from evaluation.ccda import Block
from evaluation.corpus import load_documents
from evaluation.render import render
from tests.factories import DATA

MEDCORPUS = DATA / "medcorpus"


def test_the_split_is_recorded_for_every_evaluation_document_and_follows_its_rule() -> None:
    # GIVEN the recorded split and the documents the evaluation reads
    recorded = split.recorded()
    documents = load_documents(MEDCORPUS)
    # WHEN the rule is applied again to the files the split lists
    again = split.assign(list(recorded))
    # THEN it gives the same parts, every evaluation document has one, and both parts are used
    assert again == recorded
    assert all(d.source in recorded for d in documents)
    assert {recorded[d.source] for d in documents} == {"dev", "held-out"}


def test_the_dated_layout_prints_vitals_one_column_per_date_and_ranges_in_words() -> None:
    # GIVEN a vitals table of one row per date and a results table with a range column
    vitals = Block("table", header=["Date", "Blood Pressure", "Weight"],
                   rows=[["05/20/2014", "120/80 mmHg", "80 kg"], ["06/21/2014", "118/76 mmHg", "79 kg"]])  # fmt: skip
    results = Block("table", header=["Test", "Result", "Reference Range"], rows=[["WBC", "6.7 10*9/L", "3.5-10.5"]])
    # WHEN they are arranged in the dated layout
    dated_vitals, dated_results = layouts.arrange([vitals, results], "dated")
    # THEN the dates head the columns and every reading is still printed; the range is in words
    assert dated_vitals.header == ["Vital Sign", "05/20/2014", "06/21/2014"]
    assert dated_vitals.rows == [["Blood Pressure", "120/80 mmHg", "118/76 mmHg"], ["Weight", "80 kg", "79 kg"]]
    assert dated_results.header == ["Test", "Result", "Comment"]
    assert dated_results.rows[0][:2] == ["WBC", "6.7 10*9/L"] and "3.5" in dated_results.rows[0][2]
    assert "range" in dated_results.rows[0][2].lower()


def test_a_degraded_scan_is_an_image_only_pdf_made_the_same_every_time() -> None:
    # GIVEN a one-page printout
    header = {"title": "Progress Note", "banner": "Patient: Maria Lopez", "header_lines": []}
    pdf = render(header, [Block("para", "Blood pressure 120/80 mmHg.")], footer=False)
    # WHEN it is scanned twice with the same seed
    first, second = scan.degrade(pdf, "note"), scan.degrade(pdf, "note")
    # THEN the two scans are the same bytes: one page holding one 200 DPI image and no text
    assert first == second
    with pikepdf.open(io.BytesIO(first)) as scanned:
        (page,) = scanned.pages
        (image,) = page.images.values()
        width_points = float(page.mediabox[2]) - float(page.mediabox[0])
        assert round(int(image.Width) / (width_points / 72)) == scan.DPI
        assert b"Tj" not in page.Contents.read_bytes()
