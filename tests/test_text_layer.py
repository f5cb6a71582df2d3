"""PDFs with a text layer: read from the layer in `auto`, OCR'd in `force`, never OCR'd in `off`.

processing.engine.inline.process_file runs the same page reader as the workers, inline.
"""

import re
from collections import Counter
from difflib import SequenceMatcher

import pytest

from tests.conftest import read_file
from tests.factories import DATA, born_digital_pdf, scanned_pdf

PDF = "application/pdf"
LATEX = DATA / "pypdf_pdflatex-4-pages.pdf"
LATEX_OPENING = "Hello, here is some text without a meaning. This text should show what a printed text"
NO_MAPPING = DATA / "truetype_font_nomapping.pdf"
# A4 at 300 DPI, in pixels: the frame both text-layer and OCR boxes are given in
A4_300 = (2480, 3508)
LINES = [
    ["Discharge summary for patient 4711.", "Blood pressure 120/80 mmHg, pulse 72."],
    ["Follow-up visit in two weeks."],
]


def tokens(text: str) -> list[str]:
    return re.findall(r"[a-z0-9]+", text.lower())


def shared_share(expected: str, actual: str) -> float:
    """The share of `expected`'s words (with multiplicity) that are also in `actual`."""
    expected_words = Counter(tokens(expected))
    return sum((expected_words & Counter(tokens(actual))).values()) / sum(expected_words.values())


@pytest.fixture(scope="module")
def latex_auto():
    return read_file(LATEX, PDF, "auto")


@pytest.fixture(scope="module")
def latex_force():
    # the slowest read in this file (four dense pages of OCR), so read once for every test
    return read_file(LATEX, PDF, "force")


@pytest.fixture
def generated_pdf(tmp_path):
    path = tmp_path / "discharge.pdf"
    path.write_bytes(born_digital_pdf(LINES))
    return path


def test_auto_reads_a_latex_pdf_from_its_text_layer(latex_auto):
    # GIVEN a four-page pdfLaTeX document (WHEN it is read in `auto`, by the fixture)
    result = latex_auto

    # THEN it completed with four pages, every one read from its text layer, none OCR'd
    assert result["status"] == "completed", result["error"]
    assert [p["number"] for p in result["pages"]] == [1, 2, 3, 4]
    assert {p["source"] for p in result["pages"]} == {"text_layer"}
    assert result["timings"]["ocr"] == 0
    # AND the text is the layer's own, typographic quotes and all
    first = result["pages"][0]
    assert first["text"].startswith(LATEX_OPENING)
    assert "“Huardest gefburn”" in first["text"]
    assert first["mean_confidence"] == 100.0
    # AND every word has a box inside the A4 page at 300 DPI
    for page in result["pages"]:
        assert len(page["words"]) > 400
        for word in page["words"]:
            x0, y0, x1, y1 = word["box"]
            assert 0 <= x0 < x1 <= A4_300[0] and 0 <= y0 < y1 <= A4_300[1], word
    assert first["words"][0]["text"] == "Hello,"


def test_force_ocrs_a_latex_pdf_and_agrees_with_its_text_layer(latex_auto, latex_force):
    # GIVEN the same document read from its text layer and (by the fixtures) OCR'd in `force`
    # THEN every page was OCR'd, with real confidences rather than the layer's 100
    assert latex_force["status"] == "completed", latex_force["error"]
    assert {p["source"] for p in latex_force["pages"]} == {"ocr"}
    assert latex_force["timings"]["ocr"] > 0
    assert latex_force["timings"]["text_layer"] == 0
    for layer, ocr in zip(latex_auto["pages"], latex_force["pages"], strict=True):
        assert 80 < ocr["mean_confidence"] < 100
        # AND the OCR'd text is the text layer's text, near word for word
        assert shared_share(layer["text"], ocr["text"]) >= 0.97, ocr["number"]
    assert latex_force["pages"][0]["text"].startswith(LATEX_OPENING)


def test_text_layer_and_ocr_boxes_are_in_the_same_pixel_frame(latex_auto, latex_force):
    # GIVEN the first page read both ways
    layer_words = latex_auto["pages"][0]["words"]
    ocr_words = latex_force["pages"][0]["words"]

    # WHEN the two word sequences are aligned on their texts
    matcher = SequenceMatcher(None, [w["text"] for w in layer_words], [w["text"] for w in ocr_words], autojunk=False)
    pairs = [
        (layer_words[block.a + k]["box"], ocr_words[block.b + k]["box"])
        for block in matcher.get_matching_blocks()
        for k in range(block.size)
    ]

    # THEN nearly every word is paired, and paired boxes agree to within a few pixels
    assert len(pairs) >= 0.95 * len(layer_words)
    close = [p for p in pairs if all(abs(a - b) <= 20 for a, b in zip(*p, strict=True))]
    assert len(close) / len(pairs) >= 0.95, [p for p in pairs if p not in close][:20]


def test_generated_born_digital_pdf_in_each_mode(generated_pdf):
    # GIVEN a two-page PDF with a real text layer, made with reportlab

    # WHEN it is read in each mode
    auto, force, off = (read_file(generated_pdf, PDF, mode) for mode in ("auto", "force", "off"))

    # THEN `auto` and `off` take the layer's exact lines and never OCR
    for result in (auto, off):
        assert result["status"] == "completed", result["error"]
        assert [p["source"] for p in result["pages"]] == ["text_layer", "text_layer"]
        assert [p["text"].splitlines() for p in result["pages"]] == LINES
        assert result["timings"]["ocr"] == 0
    # AND `force` OCRs both pages and reads the same lines
    assert force["status"] == "completed", force["error"]
    assert [p["source"] for p in force["pages"]] == ["ocr", "ocr"]
    assert [p["text"].splitlines() for p in force["pages"]] == LINES
    assert force["timings"]["ocr"] > 0
    # AND the first word's box is the same whichever way it was read
    layer_box = auto["pages"][0]["words"][0]["box"]
    ocr_box = force["pages"][0]["words"][0]["box"]
    assert auto["pages"][0]["words"][0]["text"] == force["pages"][0]["words"][0]["text"] == "Discharge"
    assert all(abs(a - b) <= 15 for a, b in zip(layer_box, ocr_box, strict=True)), (layer_box, ocr_box)


def test_garbage_text_layer_is_ocrd_in_auto():
    # GIVEN a PDF whose font has no character map: its text layer extracts as symbols
    # WHEN it is read in `auto`
    result = read_file(NO_MAPPING, PDF, "auto")

    # THEN the page was OCR'd instead, and reads as the word printed on it
    assert result["status"] == "completed", result["error"]
    [page] = result["pages"]
    assert page["source"] == "ocr"
    assert "Phone" in page["text"]
    assert "%" not in page["text"] and "$" not in page["text"]
    assert page["mean_confidence"] is not None and page["mean_confidence"] > 80
    assert result["timings"]["ocr"] > 0


def test_off_never_ocrs():
    # GIVEN a PDF with a garbage text layer
    # WHEN it is read with OCR `off`
    garbage = read_file(NO_MAPPING, PDF, "off")

    # THEN its layer is taken as it is, without OCR
    assert garbage["status"] == "completed", garbage["error"]
    assert garbage["pages"][0]["source"] == "text_layer"
    assert "Phone" not in garbage["pages"][0]["text"]
    assert garbage["timings"]["ocr"] == 0


def test_off_leaves_a_scanned_pdf_unread(tmp_path):
    # GIVEN an image-only PDF with a sentence on its page
    path = tmp_path / "scan.pdf"
    path.write_bytes(scanned_pdf([["Allergies: penicillin."]], height_in=1.0))

    # WHEN it is read with OCR `off`, and then in `auto`
    off = read_file(path, PDF, "off")
    auto = read_file(path, PDF, "auto")

    # THEN `off` reads nothing and says so, where `auto` OCRs the sentence
    assert off["status"] == "completed", off["error"]
    assert [(p["source"], p["text"], p["words"]) for p in off["pages"]] == [("none", "", [])]
    assert off["timings"]["ocr"] == 0
    assert auto["pages"][0]["source"] == "ocr"
    assert "Allergies: penicillin." in auto["pages"][0]["text"]
