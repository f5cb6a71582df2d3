"""Reading a local file from start to end in this process: no broker, no database.

`manage.py process` and the evaluation harness call this; the workers run the same reading
functions a page (or a run of text pages) at a time instead.
"""

import tempfile
import time
from pathlib import Path

from processing.engine import validation
from processing.engine.errors import PermanentError
from processing.engine.reader import ReadOptions, read_page
from processing.engine.results import DocumentJson, PageJson, document_json, page_json


def process_file(path: Path, mime_type: str, options: ReadOptions, limits: validation.FileLimits) -> DocumentJson:
    """Check and read every page of a local file; return the result JSON (without extraction)."""
    started = time.perf_counter()
    pages: list[PageJson] = []
    stage_totals: dict[str, float] = {}
    try:
        with tempfile.TemporaryDirectory(prefix="exora-") as scratch:
            checked = validation.check_file_in_box(
                path, mime_type, Path(scratch) / "readable.pdf", limits, options.tool_limits, options.timeout
            )
            for number in range(1, checked.page_count + 1):
                with tempfile.TemporaryDirectory(prefix=f"exora-{number}-") as workdir:
                    result, _display = read_page(checked.path, mime_type, number, Path(workdir), options)
                pages.append(page_json(result.number, result.source, result.text, result.mean_confidence, result.words))
                for stage, seconds in result.timings.items():
                    stage_totals[stage] = stage_totals.get(stage, 0.0) + seconds
    except PermanentError as exc:
        return document_json(file=str(path), status="failed", error=exc.user_message, pages=pages, timings={})
    timings = {
        "conversion": round(stage_totals.get("render", 0.0), 3),
        "text_layer": round(stage_totals.get("text_layer", 0.0), 3),
        "ocr": round(stage_totals.get("ocr", 0.0), 3),
        "total": round(time.perf_counter() - started, 3),
    }
    return document_json(file=str(path), status="completed", error="", pages=pages, timings=timings)
