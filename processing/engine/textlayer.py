"""Reading a PDF page's own text layer with its word boxes (poppler's pdftotext -tsv)."""

import re
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from processing.engine import sandbox
from processing.engine.errors import TransientError, pages_named
from processing.engine.hyphens import join_hyphenated
from processing.engine.results import Word

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


def read_text_layers(
    path: Path, first: int, last: int, *, dpi: int, timeout: int, limits: sandbox.ToolLimits = sandbox.DEFAULT_LIMITS
) -> list[PageText]:
    """The text layer of pages `first` to `last`, in one poppler run in the box (its start-up
    costs more than reading a page of text), at most `limits.text_mb_per_page` a page."""
    cap = (last - first + 1) * limits.text_mb_per_page * sandbox.MB
    try:
        tool = sandbox.run(
            ["pdftotext", "-tsv", "-f", str(first), "-l", str(last), str(path), "-"],
            limits,
            timeout=timeout,
            output_bytes=cap,
        )
    except subprocess.TimeoutExpired as exc:
        raise TransientError(f"Reading the text of {pages_named(first, last)} took longer than {timeout} s.") from exc
    return _pages_from_tsv(tool.stdout.decode("utf-8", errors="replace"), dpi / 72.0)


# The levels of pdftotext -tsv's rows, which come in reading order: a page, then each of its
# blocks, each followed by its lines, each followed by its words. Columns: level, page_num,
# par_num, block_num, line_num, word_num, left, top, width, height, conf, text.
_PAGE, _BLOCK, _LINE, _WORD = "1", "3", "4", "5"


def _pages_from_tsv(tsv: str, scale: float) -> list[PageText]:
    """Pages with their words (boxes in pixels at `scale` pixels a point) and their text: the
    words of a line joined by spaces, lines by newlines, blocks by blank lines; a word a line
    end split with a hyphen is one word again (`hyphens.join_hyphenated`), as plain pdftotext
    reads it.

    Split by hand rather than by the csv module or an XML parser (-bbox-layout): it runs for
    every word of every born-digital page, and this is half the time.
    """
    pages: list[tuple[PageText, list[list[list[Word]]]]] = []
    blocks: list[list[list[Word]]] = []
    lines: list[list[Word]] = []
    line: list[Word] = []
    for row in tsv.split("\n")[1:]:  # after the header
        fields = row.split("\t", 11)
        if len(fields) != 12:
            continue
        level, text = fields[0], fields[11].strip()
        left, top, width, height = (float(value) * scale for value in fields[6:10])
        if level == _WORD and text:
            line.append(Word(text, [round(left), round(top), round(left + width), round(top + height)], 100.0))
        elif level == _LINE:
            line = []
            lines.append(line)
        elif level == _BLOCK:
            lines = []
            blocks.append(lines)
        elif level == _PAGE:
            blocks = []
            pages.append((PageText(int(fields[1]), "", [], round(width), round(height)), blocks))
    for page, page_blocks in pages:
        joined = [join_hyphenated(block) for block in page_blocks]
        page.words = [word for block in joined for block_line in block for word in block_line]
        block_texts = (
            "\n".join(" ".join(w.text for w in block_line) for block_line in block if block_line) for block in joined
        )
        page.text = "\n\n".join(text for text in block_texts if text)
    return [page for page, _ in pages]


def pages_with_real_text(
    path: Path, page_count: int, *, timeout: int, limits: sandbox.ToolLimits = sandbox.DEFAULT_LIMITS
) -> set[int]:
    """The numbers of the pages whose text layer can stand in for OCR, from one plain
    pdftotext run over the whole file (about a millisecond a page), read a page at a time.

    Only a plan: a page left out is simply read on its own, so a run that fails or takes too
    long plans nothing rather than failing the document. A file whose text passes
    `limits.text_mb_per_page` a page (it draws its text over and over) fails it for good.
    """
    cap = min(page_count * limits.text_mb_per_page, limits.output_mb) * sandbox.MB
    with tempfile.TemporaryDirectory(prefix="exora-plan-") as workdir:
        output = Path(workdir) / "text.txt"
        try:
            # -raw: in the order the page draws it, without laying it out (half the time),
            # which does not change how much of it is readable.
            sandbox.run(["pdftotext", "-q", "-raw", str(path), str(output)], limits, timeout=timeout, output_bytes=cap)
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
