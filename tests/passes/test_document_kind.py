"""A document that is not a clinical record is labelled so and yields no record; one that is
keeps its records."""

from processing.engine.passes import run_passes
from tests.conftest import read_file
from tests.factories import DATA
from tests.passes.helpers import cells_page, text_page

PAPER = DATA / "pypdf_pdflatex-4-pages.pdf"  # a LaTeX article: sections, numbers, no patient
SCAN = DATA / "phototest.tif"  # a scanned page of prose


def test_a_research_paper_is_not_a_clinical_record() -> None:
    # GIVEN a four-page LaTeX article read from its text layer, as an upload is read
    result = read_file(PAPER, "application/pdf", "auto")
    # WHEN the passes run on its pages
    extraction = run_passes(result["pages"])
    # THEN it is labelled not clinical, with no encounter and no record of any kind
    assert extraction["document_kind"] == "not_clinical"
    assert extraction["encounters"] == []
    assert all(found == [] for found in extraction["records"].values())


def test_a_scanned_page_of_prose_is_not_a_clinical_record() -> None:
    # GIVEN a scanned page of ordinary text, OCR'd
    result = read_file(SCAN, "image/tiff", "auto")
    # WHEN the passes run
    extraction = run_passes(result["pages"])
    # THEN no clinical record comes back
    assert extraction["document_kind"] == "not_clinical"
    assert all(found == [] for found in extraction["records"].values())


def test_a_table_of_numbers_under_an_rr_column_is_no_vital_sign() -> None:
    # GIVEN a benchmark table from a paper: a column headed "RR" (round robin) with numbers
    page = cells_page(
        [
            (200, [(200, "Table 3: Scheduling results")]),
            (260, [(200, "Policy"), (800, "RR"), (1200, "FIFO"), (1600, "Temp")]),
            (320, [(200, "Load 1"), (800, "12"), (1200, "14"), (1600, "37")]),
            (380, [(200, "Load 2"), (800, "18"), (1200, "20"), (1600, "38")]),
        ]
    )
    # WHEN the passes run
    extraction = run_passes([page])
    # THEN it is not a clinical record, and there is no respiratory rate or temperature in it
    assert extraction["document_kind"] == "not_clinical"
    assert extraction["records"]["vitals"] == []


def test_a_short_note_with_a_patient_banner_or_a_full_sig_is_clinical() -> None:
    # GIVEN a one-line instruction with a drug's dose, route and frequency, and a banner over vitals
    sig = text_page(["Continue Lantus 20 units subcutaneously at bedtime."])
    banner = text_page(["Patient: Maria Lopez   DOB: 03/14/1961", "Blood pressure 132/86 mmHg, pulse 72 /min"])
    # WHEN the passes run on each
    with_sig, with_banner = run_passes([sig]), run_passes([banner])
    # THEN both are clinical records and keep what they say
    assert with_sig["document_kind"] == with_banner["document_kind"] == "clinical_record"
    assert with_sig["records"]["medications"] and with_banner["records"]["vitals"]
