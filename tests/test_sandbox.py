"""Tools that read a user's file run in a box (processing/engine/sandbox.py): a hostile file
that makes a tool spin, eat memory, print or write without end fails for good, alone, with a
clear reason, and is never retried."""

import shutil
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from documents.models import Document
from processing.engine import ocr, sandbox, textlayer
from processing.engine.errors import PermanentError, TransientError
from processing.engine.sandbox import MB, ToolLimitExceeded, ToolLimits
from processing.models import Job
from tests.conftest import drain
from tests.factories import text_bomb_pdf


def tools_reading(path: Path) -> list[psutil.Process]:
    return [p for p in psutil.process_iter(["cmdline"]) if str(path) in " ".join(p.info["cmdline"] or [])]


def test_a_text_bomb_stops_the_text_reader_at_its_cpu_limit(tmp_path):
    # GIVEN a 2 KB PDF whose one page draws one line ten million times (nested form XObjects)
    bomb = tmp_path / "bomb.pdf"
    bomb.write_bytes(text_bomb_pdf())
    assert bomb.stat().st_size < 10_000

    # WHEN its text layer is read with a 9-second limit (3 s of CPU)
    started = time.monotonic()
    with pytest.raises(ToolLimitExceeded, match="busy past its CPU limit") as raised:
        textlayer.read_text_layers(bomb, 1, 1, dpi=300, timeout=9)

    # THEN pdftotext was stopped by its CPU limit, before the wall-clock one: a permanent error
    assert isinstance(raised.value, PermanentError)
    assert time.monotonic() - started < 8
    # AND nothing is left running on it
    assert tools_reading(bomb) == []


def test_a_tool_past_its_memory_limit_fails_alone():
    # GIVEN a tool that asks for a gigabyte, in a box of 256 MB
    grab = [sys.executable, "-c", "block = bytearray(1024 ** 3)"]

    # WHEN it runs
    run = sandbox.run(grab, ToolLimits(memory_mb=256), timeout=30, output_bytes=MB)

    # THEN its allocation failed and it exited with an error; this process is untouched
    assert run.returncode == 1
    # AND the same program outside the box gets its gigabyte (the limit did it)
    assert subprocess.run(grab, check=False).returncode == 0


def test_the_ocr_engine_past_its_memory_limit_fails_the_page_for_good(tmp_path):
    # GIVEN a 100-megapixel page, and Tesseract boxed in 256 MB
    page = tmp_path / "huge.png"
    Image.new("L", (10_000, 10_000), 255).save(page)

    # WHEN it is read THEN the page fails for good, with the OCR engine named
    with pytest.raises(PermanentError, match="could not be read by the OCR engine"):
        ocr.ocr_page(page, languages="eng", dpi=300, timeout=60, limits=ToolLimits(memory_mb=256))


def test_a_tool_not_installed_is_a_transient_error_that_says_so(tmp_path, monkeypatch):
    # GIVEN a worker whose PATH has the box (prlimit) but no Tesseract
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    prlimit = shutil.which("prlimit")
    assert prlimit, "prlimit (util-linux) runs every tool"
    (bin_dir / "prlimit").symlink_to(prlimit)
    monkeypatch.setenv("PATH", str(bin_dir))
    page = tmp_path / "page.png"
    Image.new("L", (100, 100), 255).save(page)

    # WHEN a page is read THEN the error is retried later, and names what is missing
    with pytest.raises(TransientError, match=r"Tesseract.*not installed"):
        ocr.ocr_page(page, languages="eng", dpi=300, timeout=60)


def test_output_past_the_cap_is_cut_off():
    # GIVEN a tool that prints without end
    started = time.monotonic()
    # WHEN it runs with 1 MB of output allowed THEN it is stopped for good, within moments
    with pytest.raises(ToolLimitExceeded, match="more than 1 MB of text"):
        sandbox.run(["yes", "the same line again"], ToolLimits(), timeout=30, output_bytes=MB)
    assert time.monotonic() - started < 5


def test_a_file_past_the_size_limit_stops_its_writer(tmp_path):
    # GIVEN a tool that writes a 5 MB file, allowed 1 MB
    command = ["dd", "if=/dev/zero", f"of={tmp_path / 'out'}", "bs=1M", "count=5"]
    # WHEN it runs THEN the kernel stops it at the limit, and that is a permanent error
    with pytest.raises(ToolLimitExceeded, match="write more than any page could"):
        sandbox.run(command, ToolLimits(), timeout=30, output_bytes=MB)
    assert (tmp_path / "out").stat().st_size <= MB


def test_an_uploaded_text_bomb_fails_once_with_a_clear_reason(api_client, stub_broker, stub_worker, settings):
    # GIVEN a 6-second page limit (2 s of CPU for each tool)
    settings.EXORA_PAGE_TIMEOUT = 6
    # WHEN the text bomb is uploaded and the workers run
    response = api_client.post(
        "/api/v1/documents/", {"file": SimpleUploadedFile("bomb.pdf", text_bomb_pdf())}, format="multipart"
    )
    assert response.status_code == 201, response.content
    drain(stub_broker)

    # THEN the document failed, saying why, after one attempt: no retry
    document = Document.objects.get(id=response.json()["id"])
    assert document.status == Document.Status.FAILED
    assert document.error == "This file kept the PDF text reader busy past its CPU limit; it cannot be read."
    attempts = Job.objects.get(document=document).attempts.all()
    assert [(a.stage, a.outcome) for a in attempts] == [("start", "failed")]
