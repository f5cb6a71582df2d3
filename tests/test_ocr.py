"""processing.engine.ocr.ocr_page on real images with real Tesseract: text, word boxes, confidence."""

import re
from itertools import pairwise
from pathlib import Path

import pytest
from PIL import Image

from processing.engine.errors import PermanentError, TransientError
from processing.engine.ocr import ocr_page
from processing.engine.results import Word
from tests.factories import DATA, text_page

DPI = 300
SENTENCES = [
    "Patient reports mild headache since Monday.",
    "Prescribed ibuprofen 400 mg twice daily.",
]


def read(path: Path, timeout: int = 60) -> tuple[str, list[Word], float | None]:
    return ocr_page(path, languages="eng", dpi=DPI, timeout=timeout)


def tokens(text: str) -> list[str]:
    return re.findall(r"[a-z0-9]+", text.lower())


@pytest.mark.parametrize("suffix", ["png", "pgm"])
def test_known_sentences_come_back_word_for_word(tmp_path, suffix):
    # GIVEN two known sentences printed at 300 DPI and saved as an image file
    image = text_page(SENTENCES, dpi=DPI, height_in=1.5)
    path = tmp_path / f"page.{suffix}"
    image.save(path)

    # WHEN the page is OCR'd
    text, words, mean_confidence = read(path)

    # THEN each sentence comes back as its own line, in order
    assert text.splitlines() == SENTENCES
    # AND the words are the sentences' words, in reading order
    assert [w.text for w in words] == " ".join(SENTENCES).split()
    # AND the mean confidence is high and is the mean of the words' confidences
    assert mean_confidence is not None and mean_confidence > 85
    assert mean_confidence == pytest.approx(sum(w.confidence for w in words) / len(words), abs=0.01)
    assert all(0 <= w.confidence <= 100 for w in words)


def test_word_boxes_sit_where_the_words_were_printed(tmp_path):
    # GIVEN a page with two lines, the first starting half an inch from the left and top
    image = text_page(SENTENCES, dpi=DPI, height_in=1.5)
    path = tmp_path / "page.png"
    image.save(path)
    width, height = image.size

    # WHEN it is OCR'd
    _text, words, _mean = read(path)

    # THEN every box is [x0, y0, x1, y1] with x0 < x1, y0 < y1, inside the image
    for word in words:
        x0, y0, x1, y1 = word.box
        assert 0 <= x0 < x1 <= width, word
        assert 0 <= y0 < y1 <= height, word
        # a 12-point glyph at 300 DPI is about 50 px tall: nothing is a sliver or the page
        assert 10 <= y1 - y0 <= 120, word
    # AND the first word starts near the left margin and the top margin (150 px at 300 DPI)
    first = words[0]
    assert first.text == "Patient"
    assert abs(first.box[0] - DPI // 2) <= 15
    assert abs(first.box[1] - DPI // 2) <= 40
    # AND words on a line run left to right, and the second line is below the first
    line_one = words[: len(SENTENCES[0].split())]
    line_two = words[len(line_one) :]
    assert all(a.box[2] < b.box[0] for a, b in pairwise(line_one))
    assert min(w.box[1] for w in line_two) > max(w.box[3] for w in line_one) - 5
    # AND a long word has a wider box than a short one on the same line
    by_text = {w.text: w for w in words}
    assert by_text["ibuprofen"].box[2] - by_text["ibuprofen"].box[0] > by_text["mg"].box[2] - by_text["mg"].box[0]


def test_blank_page_reads_as_no_text(tmp_path):
    # GIVEN a white page
    path = tmp_path / "blank.png"
    Image.new("L", (DPI * 2, DPI), 255).save(path)

    # WHEN it is OCR'd
    text, words, mean_confidence = read(path)

    # THEN there is no text, no word and no confidence (rather than a made-up 0)
    assert (text, words, mean_confidence) == ("", [], None)


def test_scanned_corpus_page_matches_its_gold_text():
    # GIVEN the Tesseract project's scanned test page and its transcription
    gold = tokens((DATA / "phototest.gold.txt").read_text())
    assert len(gold) > 50

    # WHEN it is OCR'd
    text, words, mean_confidence = read(DATA / "phototest.tif")

    # THEN at least 90% of the gold words are found, counted with multiplicity
    found = tokens(text)
    remaining = list(found)
    matched = 0
    for word in gold:
        if word in remaining:
            remaining.remove(word)
            matched += 1
    assert matched / len(gold) >= 0.9, (matched, len(gold), text)
    # AND the opening line is read exactly, paragraphs are kept, and confidence is high
    assert text.splitlines()[0] == "This is a lot of 12 point text to test the"
    assert "\n\n" in text
    assert mean_confidence is not None and mean_confidence > 85
    with Image.open(DATA / "phototest.tif") as image:
        width, height = image.size
    assert all(0 <= w.box[0] < w.box[2] <= width and 0 <= w.box[1] < w.box[3] <= height for w in words)


def test_a_file_that_is_not_an_image_is_a_permanent_error(tmp_path):
    # GIVEN a file named like a PNG that holds text
    path = tmp_path / "page.png"
    path.write_bytes(b"this is not an image at all\n")

    # WHEN it is OCR'd
    with pytest.raises(PermanentError) as caught:
        read(path)

    # THEN the failure is permanent (never retried) and says the OCR engine could not read it,
    # rather than being mistaken for a timeout
    assert not isinstance(caught.value, TransientError)
    assert "could not be read" in caught.value.user_message


def test_a_run_over_the_time_limit_is_a_transient_error(tmp_path):
    # GIVEN a dense tabloid page, which takes Tesseract several seconds to read
    path = tmp_path / "dense.png"
    text_page([" ".join(SENTENCES)] * 64, dpi=DPI, width_in=11, height_in=17).save(path)

    # WHEN it is OCR'd with a one-second limit
    with pytest.raises(TransientError) as caught:
        read(path, timeout=1)

    # THEN the failure is transient (worth retrying) and names the limit
    assert "longer than 1 s" in caught.value.user_message
