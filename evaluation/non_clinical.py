"""Documents that are not clinical records must yield no clinical record (issue 15).

    .venv/bin/python -m evaluation.non_clinical [--folders born_digital scanned images] [--show]

Reads every PDF and image of the shared non-clinical corpus as a new user's upload is read
(`process_file`, OCR where there is no text layer), runs the passes, and prints each file's
`document_kind` and how many records of each kind came back. Goal: not one record. Read pages
are cached under the temp directory by the file's sha256, so a rerun costs the passes only.
"""

import argparse
import hashlib
import json
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from evaluation.pages import LIMITS, READ_OPTIONS
from processing.engine.inline import process_file
from processing.engine.passes import run_passes
from processing.engine.results import PageJson

CORPUS = Path("/work/shared/corpus")
FOLDERS = ("born_digital", "scanned", "images")
TYPES = {".pdf": "application/pdf", ".png": "image/png", ".jpg": "image/jpeg", ".tif": "image/tiff"}
CACHE = Path(tempfile.gettempdir()) / "exora-non-clinical"


def read(path: Path, cache: Path = CACHE) -> list[PageJson] | str:
    """The pages of the file as the service reads it (auto mode), or why it could not be read."""
    key = hashlib.sha256(path.read_bytes()).hexdigest()
    cached = cache / f"{key}.json"
    if cached.exists():
        stored: list[PageJson] = json.loads(cached.read_text())
        return stored
    options = READ_OPTIONS.__class__(**{**READ_OPTIONS.__dict__, "ocr_mode": "auto"})
    result = process_file(path, TYPES[path.suffix.lower()], options, LIMITS)
    if result["status"] != "completed":
        return result["error"] or "failed"
    cache.mkdir(parents=True, exist_ok=True)
    cached.write_text(json.dumps(result["pages"]))
    return result["pages"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--corpus", type=Path, default=CORPUS)
    parser.add_argument("--folders", nargs="*", default=list(FOLDERS))
    parser.add_argument("--show", action="store_true", help="print the records that came back")
    args = parser.parse_args()
    files = sorted(p for f in args.folders for p in (args.corpus / f).iterdir() if p.suffix.lower() in TYPES)
    with_records = 0
    for path in files:
        pages = read(path)
        if isinstance(pages, str):
            print(f"{path.parent.name}/{path.name:<52} not read: {pages}")
            continue
        result = run_passes(pages)
        records: Mapping[str, list[Mapping[str, Any]]] = result["records"]  # type: ignore[assignment]
        counts = {kind: len(found) for kind, found in records.items() if found}
        with_records += bool(counts)
        print(f"{path.parent.name}/{path.name:<52} {len(pages):>3} pages  {result['document_kind']:<16} {counts or ''}")
        if args.show:
            for kind, found in records.items():
                for record in found:
                    print(f"    {kind}: {record['text'][:80]!r}")
    print(f"\n{len(files)} files, {with_records} with a clinical record (goal: 0)")


if __name__ == "__main__":
    main()
