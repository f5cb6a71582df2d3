"""Checking a file before any page is read: the same checks at upload and again in the worker.

Each check ends in a `PermanentError` whose message tells the owner what is wrong. A PDF that
qpdf can repair (broken cross-reference table, truncated) or that opens with the empty
password is rewritten to a readable copy, as Paperless-ngx does, instead of being refused.

In a worker, the checks and qpdf's rewrites run in the box (engine.sandbox) in a process of
their own (`python -m processing.engine.validation`): qpdf parses the whole hostile file, and
its memory must not be the worker's.
"""

import json
import subprocess
import sys
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, BinaryIO

import pikepdf
from PIL import Image, UnidentifiedImageError

from processing.engine import sandbox
from processing.engine.errors import PermanentError, TransientError
from processing.engine.rendering import IMAGE_TYPES, PDF

_REPOSITORY = Path(__file__).resolve().parents[2]  # where `processing` is importable from

POINTS_PER_INCH = 72


@dataclass(frozen=True)
class FileLimits:
    """What a file may hold before it is refused: a small file can describe pages that would
    take gigabytes to render (a decompression bomb)."""

    max_pages: int
    max_page_inches: int
    max_image_pixels: int


@dataclass(frozen=True)
class CheckedFile:
    path: Path  # the file to read: the original, or its repaired or decrypted copy
    mime_type: str
    page_count: int


def quick_check(upload: BinaryIO, mime_type: str, limits: FileLimits) -> int:
    """The checks an upload gets before it is taken, in milliseconds, on its bytes as they are
    (no copy): empty, type, password, damage past opening, and the page count; the file's page
    count. The rest (every page's size, a repaired copy) is `check_file`'s, in the worker's
    first step, where its errors reach the owner just the same."""
    if not upload.read(1):
        raise PermanentError("The file is empty.")
    upload.seek(0)
    if mime_type == PDF:
        with _open_pdf(upload) as pdf:
            page_count = len(pdf.pages)
        _check_page_count(page_count, limits)
        return page_count
    if mime_type in IMAGE_TYPES:
        return _check_image(upload, limits)
    raise PermanentError(f"This file type ({mime_type}) is not supported. Upload a PDF, TIFF, PNG or JPEG.")


def check_file(path: Path, mime_type: str, readable_copy: Path, limits: FileLimits) -> CheckedFile:
    """Check a stored file; `readable_copy` is where a repaired PDF is written when needed."""
    if path.stat().st_size == 0:
        raise PermanentError("The file is empty.")
    if mime_type == PDF:
        return _check_pdf(path, readable_copy, limits)
    if mime_type in IMAGE_TYPES:
        return CheckedFile(path, mime_type, _check_image(path, limits))
    raise PermanentError(f"This file type ({mime_type}) is not supported. Upload a PDF, TIFF, PNG or JPEG.")


def _check_pdf(path: Path, readable_copy: Path, limits: FileLimits) -> CheckedFile:
    if readable_copy.exists():  # repaired on an earlier check
        path = readable_copy
    with _open_pdf(path) as pdf:
        page_count = len(pdf.pages)
        _check_page_count(page_count, limits)
        for number, page in enumerate(pdf.pages, start=1):
            _check_page_size(page, number, limits)
        if path != readable_copy and (pdf.is_encrypted or pdf.get_warnings()):
            pdf.save(readable_copy)
            path = readable_copy
    return CheckedFile(path, PDF, page_count)


def _open_pdf(source: Path | BinaryIO) -> pikepdf.Pdf:
    try:
        return pikepdf.open(source)
    except pikepdf.PasswordError as exc:
        raise PermanentError(
            "This PDF is password-protected. Remove the password (print it to a new PDF) and upload it again."
        ) from exc
    except (pikepdf.PdfError, OSError, ValueError) as exc:
        raise PermanentError("This PDF is damaged and could not be repaired.") from exc


def rewrite_for_poppler(path: Path, target: Path) -> bool:
    """Write to `target` a copy of the PDF that qpdf rewrote, for a page poppler would not
    draw; False when qpdf cannot open it either.

    qpdf's rewrite resolves what poppler gives up on (a dangling or looping reference, a
    broken object stream) and writes clean cross-references; a page's /Annots that is not an
    array (poppler: "Page annotations object is wrong type", then "Failed to create page") is
    dropped, since qpdf keeps it as it is and a page's annotations are no part of its reading.
    """
    try:
        with pikepdf.open(path) as pdf:
            for page in pdf.pages:
                annotations = page.obj.get("/Annots")
                if annotations is not None and not isinstance(annotations, pikepdf.Array):
                    del page.obj["/Annots"]
            pdf.save(target)
    except (pikepdf.PdfError, OSError, ValueError):
        return False
    return True


def check_file_in_box(
    path: Path, mime_type: str, readable_copy: Path, limits: FileLimits, box: sandbox.ToolLimits, timeout: int
) -> CheckedFile:
    """`check_file` in a process of its own, in the box."""
    answer = _in_box(["check", str(path), mime_type, str(readable_copy), json.dumps(asdict(limits))], box, timeout)
    return CheckedFile(Path(answer["path"]), answer["mime_type"], int(answer["page_count"]))


def rewrite_for_poppler_in_box(path: Path, target: Path, box: sandbox.ToolLimits, timeout: int) -> bool:
    """`rewrite_for_poppler` in a process of its own, in the box."""
    return bool(_in_box(["rewrite", str(path), str(target)], box, timeout)["rewritten"])


def _in_box(arguments: list[str], box: sandbox.ToolLimits, timeout: int) -> dict[str, Any]:
    command = [sys.executable, "-m", "processing.engine.validation", *arguments]
    try:
        run = sandbox.run(command, box, timeout=timeout, output_bytes=sandbox.MB, cwd=_REPOSITORY)
    except subprocess.TimeoutExpired as exc:
        raise TransientError(f"Checking the file took longer than {timeout} s.") from exc
    if run.returncode < 0:  # killed: the kernel's OOM killer, most often
        raise TransientError("Checking the file was stopped (out of memory?).")
    if run.returncode != 0:  # past its memory limit (MemoryError), or a crash on this file
        raise PermanentError("This file could not be checked: it is damaged, or built to exhaust a reader.")
    answer: dict[str, Any] = json.loads(run.stdout)
    if "error" in answer:
        raise PermanentError(answer["error"])
    return answer


def _main(arguments: list[str]) -> dict[str, Any]:
    """The process `_in_box` starts: one check or rewrite, its answer as JSON."""
    try:
        if arguments[0] == "check":
            path, mime_type, copy, limits = arguments[1:]
            checked = check_file(Path(path), mime_type, Path(copy), FileLimits(**json.loads(limits)))
            return {"path": str(checked.path), "mime_type": checked.mime_type, "page_count": checked.page_count}
        return {"rewritten": rewrite_for_poppler(Path(arguments[1]), Path(arguments[2]))}
    except PermanentError as exc:
        return {"error": exc.user_message}


def _check_page_count(page_count: int, limits: FileLimits) -> None:
    if page_count < 1:
        raise PermanentError("This document has no pages.")
    if page_count > limits.max_pages:
        raise PermanentError(f"This document has {page_count} pages; the limit is {limits.max_pages}.")


def _check_page_size(page: pikepdf.Page, number: int, limits: FileLimits) -> None:
    x0, y0, x1, y1 = (float(v) for v in page.mediabox.as_list())
    unit = float(page.obj.UserUnit) if "/UserUnit" in page.obj else 1.0
    largest_side = max(abs(x1 - x0), abs(y1 - y0)) * unit / POINTS_PER_INCH
    if largest_side > limits.max_page_inches:
        raise PermanentError(
            f"Page {number} is {largest_side:.0f} inches across; the largest page we read is "
            f"{limits.max_page_inches} inches."
        )


def _check_image(path: Path | BinaryIO, limits: FileLimits) -> int:
    """Return the number of frames, refusing images too large to hold in memory."""
    try:
        with Image.open(path) as image:
            frames = getattr(image, "n_frames", 1)
            _check_page_count(frames, limits)
            for frame in range(frames):
                image.seek(frame)
                if image.width * image.height > limits.max_image_pixels:
                    megapixels = image.width * image.height / 1e6
                    raise PermanentError(
                        f"Page {frame + 1} is {image.width} x {image.height} pixels ({megapixels:.0f} megapixels); "
                        f"the limit is {limits.max_image_pixels / 1e6:.0f} megapixels."
                    )
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise PermanentError("This image is too large to process (too many pixels).") from exc
    except (UnidentifiedImageError, OSError, EOFError) as exc:
        raise PermanentError("This image is damaged or not in a format we read.") from exc
    return frames


if __name__ == "__main__":
    print(json.dumps(_main(sys.argv[1:])))
