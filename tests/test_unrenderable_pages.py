"""A PDF whose structure checks clean but whose page poppler will not create is rewritten by
qpdf and read again, instead of coming back empty or failing the page."""

import subprocess
from pathlib import Path

import pikepdf
import pytest

from processing.engine.errors import UnrenderablePage
from processing.engine.rendering import render_pdf_page
from tests.conftest import read_file
from tests.factories import born_digital_pdf

PDF = "application/pdf"
LINES = [
    ["Discharge summary for patient 4711.", "Blood pressure 120/80 mmHg, pulse 72."],
    ["Second page of the report."],
]


@pytest.fixture
def malformed_annotations(tmp_path: Path) -> Path:
    """A real two-page PDF whose first page's /Annots is a number instead of an array."""
    clean = tmp_path / "clean.pdf"
    clean.write_bytes(born_digital_pdf(LINES))
    with pikepdf.open(clean) as pdf:
        pdf.pages[0].obj.Annots = 5
        pdf.save(tmp_path / "annots.pdf")
    return tmp_path / "annots.pdf"


def test_the_file_checks_clean_but_poppler_will_not_draw_its_page(malformed_annotations: Path, tmp_path: Path) -> None:
    # GIVEN the PDF with a malformed /Annots (WHEN qpdf checks it and poppler renders its page)
    check = subprocess.run(["qpdf", "--check", str(malformed_annotations)], capture_output=True, text=True)
    drawn = subprocess.run(
        ["pdftoppm", "-r", "50", "-f", "1", "-l", "1", str(malformed_annotations), str(tmp_path / "page")],
        capture_output=True,
        text=True,
    )
    # THEN qpdf finds nothing wrong while poppler fails to create the page
    assert check.returncode == 0 and "No syntax or stream encoding errors" in check.stdout
    assert "Failed to create page" in drawn.stderr
    # AND the engine's renderer says so, rather than handing on poppler's 1 x 1 stand-in
    with pytest.raises(UnrenderablePage):
        render_pdf_page(malformed_annotations, 1, tmp_path, dpi=50, for_ocr=True, timeout=30)


@pytest.mark.parametrize("ocr_mode", ["auto", "force"])
def test_a_page_poppler_refuses_is_read_from_the_qpdf_rewrite(malformed_annotations: Path, ocr_mode: str) -> None:
    # GIVEN the PDF with a malformed /Annots on page 1
    # WHEN it is read
    result = read_file(malformed_annotations, PDF, ocr_mode)
    # THEN both pages are read, with their words, from the rewritten copy
    assert result["status"] == "completed", result["error"]
    texts = [page["text"] for page in result["pages"]]
    assert "120/80" in texts[0] and "4711" in texts[0]
    assert "Second page" in texts[1]
