"""Run the whole pipeline on local files, in this process: no broker, no server, no database."""

import json
import sys
from pathlib import Path
from typing import Any

import magic
from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser

from processing import options
from processing.engine.inline import process_file
from processing.engine.passes import run_passes
from processing.engine.rendering import SUPPORTED_TYPES
from processing.engine.results import DocumentJson, ReadDocumentJson, document_json, read_document_json


class Command(BaseCommand):
    help = "Read files with the same pipeline the workers run; exit 1 unless every file completed."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("files", nargs="+", type=Path)
        parser.add_argument("--json", action="store_true", help="print one JSON object per file")
        parser.add_argument("--ocr-mode", choices=["auto", "force", "off"], default=None)

    def handle(self, *args: Any, files: list[Path], json: bool, ocr_mode: str | None, **options: Any) -> None:
        all_completed = True
        for path in files:
            result = self._process(path, ocr_mode)
            all_completed &= result["status"] == "completed"
            # As the workers do: the passes run once every page is read, and only then.
            found = (
                run_passes(result["pages"], date_order=settings.EXORA_DATE_ORDER)
                if result["status"] == "completed"
                else None
            )
            read = read_document_json(result, found)
            self.stdout.write(_as_json(read) if json else _as_summary(read))
        if not all_completed:
            sys.exit(1)

    def _process(self, path: Path, ocr_mode: str | None) -> DocumentJson:
        if not path.is_file():
            return document_json(file=str(path), status="failed", error="No such file.", pages=[], timings={})
        mime_type = magic.from_file(str(path), mime=True)
        if mime_type not in SUPPORTED_TYPES:
            error = f"This file type ({mime_type}) is not supported. Upload a PDF, TIFF, PNG or JPEG."
            return document_json(file=str(path), status="failed", error=error, pages=[], timings={})
        return process_file(path, mime_type, options.read_options(ocr_mode), options.file_limits())


def _as_json(result: ReadDocumentJson) -> str:
    return json.dumps(result, ensure_ascii=False)


def _as_summary(result: ReadDocumentJson) -> str:
    lines = [f"{result['file']}: {result['status']}" + (f" ({result['error']})" if result["error"] else "")]
    for page in result["pages"]:
        confidence = f", confidence {page['mean_confidence']:.0f}" if page["mean_confidence"] is not None else ""
        lines.append(f"--- page {page['number']} ({page['source']}{confidence}) ---")
        lines.append(page["text"])
    return "\n".join(lines)
