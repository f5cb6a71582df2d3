"""Reading a PDF page's own text layer with its word boxes (poppler's pdftotext -bbox-layout)."""

import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

from processing.errors import TransientError
from processing.results import Word

_XHTML = "{http://www.w3.org/1999/xhtml}"
# A text layer is trusted only when most of it reads as ordinary text: fonts without a
# character map extract as strings of symbols, which must be OCR'd instead.
MIN_CHARACTERS = 20
MIN_READABLE_SHARE = 0.8


def read_text_layer(path: Path, number: int, *, dpi: int, timeout: int) -> tuple[str, list[Word], int, int]:
    """Return the page's text, words (boxes in pixels at `dpi`) and pixel size at `dpi`."""
    try:
        completed = subprocess.run(
            ["pdftotext", "-bbox-layout", "-f", str(number), "-l", str(number), str(path), "-"],
            capture_output=True,
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        raise TransientError(f"Reading the text of page {number} took longer than {timeout} s.") from exc
    scale = dpi / 72.0
    # pdftotext writes this XHTML itself and escapes the PDF's text; it declares no entities.
    root = ET.fromstring(completed.stdout or b"<html/>")  # noqa: S314
    page = root.find(f".//{_XHTML}page")
    if page is None:
        return "", [], 0, 0
    width = round(float(page.get("width", 0)) * scale)
    height = round(float(page.get("height", 0)) * scale)
    words: list[Word] = []
    blocks: list[str] = []
    for block in page.iter(f"{_XHTML}block"):
        lines = []
        for line in block.iter(f"{_XHTML}line"):
            line_words = []
            for element in line.iter(f"{_XHTML}word"):
                text = (element.text or "").strip()
                if not text:
                    continue
                box = [round(float(element.get(k, 0)) * scale) for k in ("xMin", "yMin", "xMax", "yMax")]
                words.append(Word(text=text, box=box, confidence=100.0))
                line_words.append(text)
            if line_words:
                lines.append(" ".join(line_words))
        if lines:
            blocks.append("\n".join(lines))
    return "\n\n".join(blocks), words, width, height


def is_real_text(text: str) -> bool:
    """True when the layer holds enough readable characters to stand in for OCR."""
    characters = [c for c in text if not c.isspace()]
    if len(characters) < MIN_CHARACTERS:
        return False
    readable = sum(1 for c in characters if (c.isalnum() and c.isascii()) or c in ".,;:()-/%'\"")
    return readable / len(characters) >= MIN_READABLE_SHARE
