"""Rendered and OCR'd pages of the evaluation documents, cached on disk by content.

The engine reads each printed document with OCR forced, with the service's default options
(EXORA_* unset); its pages are kept under a temp directory keyed by the PDF's sha256, so a
rerun costs the passes only.
"""

import hashlib
import json
import tempfile
from pathlib import Path

from evaluation import corpus, scan
from evaluation.ccda import Document
from evaluation.layouts import arrange
from evaluation.render import render, render_many
from evaluation.render_letter import render_letter
from processing.engine.inline import process_file
from processing.engine.reader import ReadOptions
from processing.engine.results import PageJson
from processing.engine.validation import FileLimits

# The service's defaults (exora/settings.py), with OCR forced on every page.
READ_OPTIONS = ReadOptions(
    ocr_mode="force", dpi=300, display_dpi=100, languages="eng", timeout=180, max_render_pixels=40_000_000
)
LIMITS = FileLimits(max_pages=1000, max_page_inches=50, max_image_pixels=100_000_000)

CACHE = Path(tempfile.gettempdir()) / "exora-evaluate-passes"


def has_footer(doc: Document) -> bool:
    """Half the documents print 'Page i of N', so splitting must also work without it."""
    return int(hashlib.sha256(doc.name.encode()).hexdigest(), 16) % 2 == 0


def pdf_of(doc: Document, untitled: bool = False, layout: str = "records") -> bytes:
    """`untitled`: no title and no page numbers, only the banner and the date of service,
    as some visit notes print, so that only the date tells one visit from the next."""
    header = corpus.printable(doc)
    if untitled:
        header["title"] = ""
    footer = has_footer(doc) and not untitled
    if layout == "letter":
        return render_letter(header, doc.blocks, footer=footer)
    return render(header, arrange(doc.blocks, layout), footer=footer)


def read(
    doc: Document, cache: Path = CACHE, untitled: bool = False, layout: str = "records", mode: str = "clean"
) -> tuple[list[PageJson], bool]:
    """The pages the pipeline reads from the printed `doc`, and whether they came from the cache."""
    return read_pdf(pdf_of(doc, untitled, layout), doc.name, cache, mode)


def read_pdf(pdf: bytes, name: str, cache: Path = CACHE, mode: str = "clean") -> tuple[list[PageJson], bool]:
    """`mode` "degraded": the printout scanned badly first (`scan.degrade`); cached under the
    printed PDF's hash and the scan's version, so a rerun neither scans nor reads again."""
    key = hashlib.sha256(pdf).hexdigest()
    if mode == "degraded":
        key = hashlib.sha256(f"{key}:{scan.VERSION}".encode()).hexdigest()
        pdf = b"" if (cache / f"{key}.json").exists() else scan.degrade(pdf, seed=name)
    cached = cache / f"{key}.json"
    if cached.exists():
        stored: list[PageJson] = json.loads(cached.read_text())
        return stored, True
    cache.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="exora-eval-") as scratch:
        path = Path(scratch) / "document.pdf"
        path.write_bytes(pdf)
        result = process_file(path, "application/pdf", READ_OPTIONS, LIMITS)
    if result["status"] != "completed":
        raise RuntimeError(f"{name}: {result['error']}")
    pages = result["pages"]
    cached.write_text(json.dumps(pages))
    return pages, False


def read_continuous(
    documents: list[Document], cache: Path = CACHE, mode: str = "clean"
) -> tuple[list[PageJson], list[int]]:
    """Several documents printed one after the other in one PDF (a report may start mid-page);
    every other one repeats its title at the top of each page, as many systems print."""
    printable = []
    for n, doc in enumerate(documents):
        header = corpus.printable(doc)
        header["running_title"] = n % 2 == 1
        printable.append((header, doc.blocks))
    pdf, starts = render_many(printable)
    pages, _ = read_pdf(pdf, "+".join(d.name for d in documents), cache, mode)
    return pages, starts
