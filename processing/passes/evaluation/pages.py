"""Rendered and OCR'd pages of the evaluation documents, cached on disk by content.

The real pipeline reads each printed document with OCR forced; its pages are kept under
a temp directory keyed by the PDF's sha256, so a rerun costs the passes only.
"""

import hashlib
import json
import tempfile
from pathlib import Path
from typing import Any

from processing.passes.evaluation import corpus
from processing.passes.evaluation.ccda import Document
from processing.passes.evaluation.render import render

CACHE = Path(tempfile.gettempdir()) / "exora-evaluate-passes"


def has_footer(doc: Document) -> bool:
    """Half the documents print 'Page i of N', so splitting must also work without it."""
    return int(hashlib.sha256(doc.name.encode()).hexdigest(), 16) % 2 == 0


def pdf_of(doc: Document) -> bytes:
    return render(corpus.printable(doc), doc.blocks, footer=has_footer(doc))


def read(doc: Document, cache: Path = CACHE) -> tuple[list[dict[str, Any]], bool]:
    """The pages the pipeline reads from the printed `doc`, and whether they came from the cache."""
    pdf = pdf_of(doc)
    key = hashlib.sha256(pdf).hexdigest()
    cached = cache / f"{key}.json"
    if cached.exists():
        return json.loads(cached.read_text()), True
    from processing.pipeline import process_file  # needs Django settings: imported when used

    cache.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="exora-eval-") as scratch:
        path = Path(scratch) / "document.pdf"
        path.write_bytes(pdf)
        result = process_file(path, "application/pdf", "force")
    if result["status"] != "completed":
        raise RuntimeError(f"{doc.name}: {result['error']}")
    pages = result["pages"]
    cached.write_text(json.dumps(pages))
    return pages, False
