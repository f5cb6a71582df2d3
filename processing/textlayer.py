"""Reading a PDF page's own text layer with its word boxes (poppler's pdftotext -bbox-layout)."""

import re
import subprocess
import tempfile
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from processing.errors import TransientError
from processing.results import Word

_XHTML = "{http://www.w3.org/1999/xhtml}"
# A text layer is trusted only when most of it reads as ordinary text: fonts without a
# character map extract as strings of symbols, which must be OCR'd instead.
MIN_CHARACTERS = 20
MIN_READABLE_SHARE = 0.8
_SPACE = re.compile(r"\s")
_READABLE = re.compile(r"[A-Za-z0-9.,;:()\-/%'\"]")


@dataclass
class PageText:
    number: int
    text: str
    words: list[Word]
    width: int  # pixels at the dpi asked for
    height: int


def read_text_layers(path: Path, first: int, last: int, *, dpi: int, timeout: int) -> list[PageText]:
    """The text layer of pages `first` to `last`, in one poppler run (its start-up costs more
    than reading a page of text)."""
    try:
        completed = subprocess.run(
            ["pdftotext", "-bbox-layout", "-f", str(first), "-l", str(last), str(path), "-"],
            capture_output=True,
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        which = f"page {first}" if first == last else f"pages {first}-{last}"
        raise TransientError(f"Reading the text of {which} took longer than {timeout} s.") from exc
    # pdftotext writes this XHTML itself and escapes the PDF's text; it declares no entities.
    root = ET.fromstring(completed.stdout or b"<html/>")  # noqa: S314
    return [_page_text(first + i, page, dpi / 72.0) for i, page in enumerate(root.iter(f"{_XHTML}page"))]


def _page_text(number: int, page: ET.Element, scale: float) -> PageText:
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
                corners = element.attrib  # spelled out: this runs for every word of every page
                box = [
                    round(float(corners["xMin"]) * scale),
                    round(float(corners["yMin"]) * scale),
                    round(float(corners["xMax"]) * scale),
                    round(float(corners["yMax"]) * scale),
                ]
                words.append(Word(text=text, box=box, confidence=100.0))
                line_words.append(text)
            if line_words:
                lines.append(" ".join(line_words))
        if lines:
            blocks.append("\n".join(lines))
    width = round(float(page.get("width", 0)) * scale)
    height = round(float(page.get("height", 0)) * scale)
    return PageText(number, "\n\n".join(blocks), words, width, height)


def pages_with_real_text(path: Path, *, timeout: int) -> set[int]:
    """The numbers of the pages whose text layer can stand in for OCR, from one plain
    pdftotext run over the whole file (about a millisecond a page), read a page at a time.

    Only a plan: a page left out is simply read on its own, so a run that fails or takes too
    long plans nothing rather than failing the document.
    """
    with tempfile.TemporaryDirectory(prefix="exora-plan-") as workdir:
        output = Path(workdir) / "text.txt"
        try:
            subprocess.run(
                # -raw: in the order the page draws it, without laying it out (half the time),
                # which does not change how much of it is readable.
                ["pdftotext", "-q", "-raw", str(path), str(output)],
                capture_output=True,
                timeout=timeout,
                check=False,
            )
        except (subprocess.TimeoutExpired, FileNotFoundError):
            return set()
        if not output.is_file():
            return set()
        with output.open(encoding="utf-8", errors="replace") as text:
            return {number for number, page in enumerate(_split_pages(text), start=1) if is_real_text(page)}


def _split_pages(text: TextIO, chunk_size: int = 65_536) -> Iterator[str]:
    """The pages of pdftotext's output, which ends each page with a form feed."""
    pending = ""
    while chunk := text.read(chunk_size):
        *pages, pending = (pending + chunk).split("\f")
        yield from pages


def is_real_text(text: str) -> bool:
    """True when the layer holds enough readable characters to stand in for OCR."""
    characters = len(text) - len(_SPACE.findall(text))
    if characters < MIN_CHARACTERS:
        return False
    readable = len(_READABLE.findall(text))  # regular expressions: a page is read in C, not per character
    return readable / characters >= MIN_READABLE_SHARE
