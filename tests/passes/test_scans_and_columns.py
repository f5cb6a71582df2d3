"""Pages as real records print and scan them: a table scanned askew, two columns of text.
Read by the real pipeline (Tesseract, poppler), then the passes."""

import io
import textwrap
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont
from reportlab.lib.pagesizes import letter
from reportlab.pdfgen import canvas

from processing.engine.passes import run_passes
from tests.conftest import read_file

from .helpers import only

DPI = 300
VITALS_ROWS = [
    ("Date", "Blood Pressure", "Pulse", "Weight"),
    ("01/05/2021", "118/76 mmHg", "64 /min", "70 kg"),
    ("06/12/2021", "124/80 mmHg", "71 /min", "72 kg"),
    ("11/20/2021", "131/85 mmHg", "77 /min", "75 kg"),
]


def _skewed_table_pdf(degrees: float) -> bytes:
    """A vitals table across a letter page at 300 DPI, scanned `degrees` askew."""
    page = Image.new("L", (int(8.5 * DPI), int(4 * DPI)), 255)
    draw = ImageDraw.Draw(page)
    font = ImageFont.load_default(size=40)
    draw.text((150, 80), "Patient: Maria Lopez   DOB: 03/14/1961", fill=0, font=font)
    draw.text((150, 180), "VITAL SIGNS", fill=0, font=font)
    for row, cells in enumerate(VITALS_ROWS):
        for column, cell in enumerate(cells):
            draw.text((150 + column * 600, 280 + row * 62), cell, fill=0, font=font)
    turned = page.rotate(degrees, resample=Image.Resampling.BICUBIC, fillcolor=255)
    buffer = io.BytesIO()
    turned.save(buffer, "PDF", resolution=DPI)
    return buffer.getvalue()


def test_a_vitals_table_scanned_askew_keeps_each_row_with_its_date(tmp_path: Path) -> None:
    # GIVEN a vitals table whose rows are closer than a 2-degree slant drops across the page
    path = tmp_path / "skewed.pdf"
    path.write_bytes(_skewed_table_pdf(2.0))
    pages = read_file(path, "application/pdf", "force")["pages"]
    # WHEN the passes run on the OCR'd page
    vitals = run_passes(pages)["records"]["vitals"]
    # THEN every reading is on its own date's row
    pressures = {v["date"]: (v["systolic"], v["diastolic"]) for v in vitals if v["type"] == "blood_pressure"}
    assert pressures == {"2021-01-05": (118, 76), "2021-06-12": (124, 80), "2021-11-20": (131, 85)}
    weights = {v["date"]: v["value"] for v in vitals if v["type"] == "weight"}
    assert weights == {"2021-01-05": 70, "2021-06-12": 72, "2021-11-20": 75}


PROSE = (
    "The patient was seen today for a routine review of her chronic conditions and she reports "
    "feeling well overall with good energy and no new complaints since the last visit in spring."
)


def _two_column_pdf() -> bytes:
    """A letter page: a banner across, then a left column (medications, prose) and a right column
    (allergies, prose), whose lines sit level with each other."""
    buffer = io.BytesIO()
    pdf = canvas.Canvas(buffer, pagesize=letter)
    pdf.setFont("Times-Roman", 11)
    pdf.drawString(64, 740, "Patient: Maria Lopez, DOB: 03/14/1961, MRN: 204511")
    left = ["MEDICATIONS", "Lisinopril 10 mg by mouth once daily.", *textwrap.wrap(PROSE, 44) * 2]
    right = ["ALLERGIES", "Penicillin - Reaction: Hives.", *textwrap.wrap(PROSE, 44) * 2]
    for x, column in ((64, left), (318, right)):
        for n, text in enumerate(column):
            pdf.drawString(x, 710 - n * 15, text)
    pdf.showPage()
    pdf.save()
    return buffer.getvalue()


def test_a_page_of_two_columns_is_read_column_by_column(tmp_path: Path) -> None:
    # GIVEN a letter in two columns: the right column's ALLERGIES heading is level with the
    # left column's MEDICATIONS heading, the allergy level with a drug
    path = tmp_path / "letter.pdf"
    path.write_bytes(_two_column_pdf())
    pages = read_file(path, "application/pdf", "auto")["pages"]
    # WHEN the passes run
    records = run_passes(pages)["records"]
    # THEN the drug is a medication of the medications section, and penicillin an allergy
    lisinopril = only(records["medications"], name="Lisinopril")
    assert lisinopril["section"] == "medications" and lisinopril["dose"] == 1
    penicillin = only(records["allergies"], substance="Penicillin")
    assert penicillin["reaction"] == "hives"
    assert not [m for m in records["medications"] if "enicillin" in (m["name"] or "")]
