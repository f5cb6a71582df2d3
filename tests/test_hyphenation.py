"""Words a line end split with a hyphen come back whole, from the text layer and from OCR,
with the box of each piece; a compound's own hyphen stays."""

import subprocess
from pathlib import Path

import pytest

from processing.engine.hyphens import join_hyphenated
from processing.engine.ocr import ocr_page
from processing.engine.passes.layout import page_lines
from processing.engine.results import Word, page_json
from processing.engine.textlayer import read_text_layers
from tests.factories import born_digital_pdf

DPI = 300
# each pair: a line ending with a hyphen, then the line that carries the rest of the word
BROKEN_LINES = [
    "Lorem ipsum dolor sit amet, consectetur maece-",
    "nas ultricies in the second line of text.",
    "The patient is asked to come back for follow-",
    "up in two weeks, after the chest x-",
    "ray has been read by the radiology depart-",
    "ment of the hospital.",
]
JOINED = {"maecenas", "follow-up", "x-ray", "department"}


@pytest.fixture(scope="module")
def broken_pdf(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("hyphens") / "broken.pdf"
    path.write_bytes(born_digital_pdf([BROKEN_LINES]))
    return path


def _word(words: list[Word], text: str) -> Word:
    found = [w for w in words if w.text.strip(".,").lower() == text]
    assert found, f"{text!r} not among {[w.text for w in words]}"
    return found[0]


def _assert_joined(text: str, words: list[Word]) -> None:
    lowered = text.lower()
    for joined in JOINED:
        assert joined in lowered, f"{joined!r} not in the page text {text!r}"
        word = _word(words, joined)
        # both pieces' boxes are on the word, one line apart, the first being its box
        assert len(word.parts) == 2 and word.parts[0] == word.box
        assert word.parts[1][1] > word.parts[0][3] - 5
    assert "maece-" not in lowered and "depart-" not in lowered


def test_the_text_layer_joins_a_word_split_at_a_line_end(broken_pdf: Path) -> None:
    # GIVEN a born-digital page whose lines end in "maece-", "follow-", "x-" and "depart-"
    # WHEN its text layer is read
    page = read_text_layers(broken_pdf, 1, 1, dpi=DPI, timeout=30)[0]
    # THEN each split word is one word in the text and the words, with both boxes; a
    # compound's hyphen ("follow-up", "x-ray") stays
    _assert_joined(page.text, page.words)


def test_ocr_joins_a_word_split_at_a_line_end(broken_pdf: Path, tmp_path: Path) -> None:
    # GIVEN the same page as an image at 300 DPI
    subprocess.run(
        ["pdftoppm", "-r", str(DPI), "-gray", "-png", "-singlefile", str(broken_pdf), str(tmp_path / "page")],
        check=True,
    )
    # WHEN Tesseract reads it
    text, words, _ = ocr_page(tmp_path / "page.png", languages="eng", dpi=DPI, timeout=60)
    # THEN the split words are joined the same way
    _assert_joined(text, words)


def test_a_joined_word_keeps_both_boxes_through_the_json_and_the_passes(broken_pdf: Path) -> None:
    # GIVEN the text layer of the page, stored as the page JSON is
    page = read_text_layers(broken_pdf, 1, 1, dpi=DPI, timeout=30)[0]
    stored = page_json(1, "text_layer", page.text, None, page.words)
    # WHEN the passes rebuild its lines
    lines = page_lines(stored)
    # THEN the joined word is on the first line, and its boxes are both pieces'
    line = next(ln for ln in lines if any(w.startswith("maecenas") for w in ln.words))
    index = next(i for i, w in enumerate(line.words) if w.startswith("maecenas"))
    joined = next(w for w in stored["words"] if w["text"].startswith("maecenas"))
    assert line.boxes_of([index]) == joined["parts"] and len(joined["parts"]) == 2
    assert all("parts" not in w for w in stored["words"] if w["text"] == "Lorem")


@pytest.mark.parametrize(
    ("first", "second", "expected"),
    [
        ("maece-", "nas", ["maecenas"]),
        ("follow-", "up", ["follow-up"]),
        ("COVID-", "19", ["COVID-19"]),
        ("Smith-", "Jones", ["Smith-Jones"]),
        ("anti-", "inflammatory", ["anti-inflammatory"]),
        ("dose", "-", ["dose", "-"]),
        ("120-", "(normal)", ["120-", "(normal)"]),
    ],
)
def test_which_line_end_hyphens_join_and_which_stay(first: str, second: str, expected: list[str]) -> None:
    # GIVEN two lines of one block, the first ending with `first`, the second starting with `second`
    lines = [
        [Word("text", [0, 0, 40, 10], 90.0), Word(first, [50, 0, 90, 10], 90.0)],
        [Word(second, [0, 20, 30, 30], 80.0)],
    ]
    # WHEN they are joined
    joined = join_hyphenated(lines)
    # THEN the word is whole (a real hyphen kept) or the two stay apart
    assert [w.text for line in joined for w in line][1:] == expected
    assert len(joined) == 2  # a line emptied by the join keeps its place
