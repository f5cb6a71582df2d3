"""`manage.py process FILE... [--json] [--ocr-mode ...]`: the pipeline on local files, no server."""

import io
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command

from tests.factories import DATA, born_digital_pdf, png, scanned_pdf

ROOT = Path(__file__).resolve().parent.parent
INVALID_PDF = DATA / "invalid.pdf"
SCAN_LINE = "Blood glucose 5.4 mmol/L fasting."
DIGITAL_LINES = ["Referral letter for cardiology review.", "Echocardiogram booked for March."]


def run_process(*args: object) -> tuple[int, list[dict[str, Any]], str]:
    """Run the command as a user would, in a fresh process; return (exit code, JSON lines)."""
    completed = subprocess.run(
        [sys.executable, "manage.py", "process", *map(str, args)],
        cwd=ROOT,
        env=os.environ.copy(),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    lines = completed.stdout.splitlines()
    # --json promises one JSON object per line and nothing else on stdout
    return completed.returncode, [json.loads(line) for line in lines], completed.stderr


def call_process(*args: object) -> list[dict[str, Any]]:
    """Run the command in this process (no interpreter start-up); return its JSON lines."""
    out = io.StringIO()
    call_command("process", *map(str, args), "--json", stdout=out)
    return [json.loads(line) for line in out.getvalue().splitlines()]


@pytest.fixture
def files(tmp_path):
    paths = {
        "png": tmp_path / "scan.png",
        "digital": tmp_path / "referral.pdf",
        "scanned": tmp_path / "scanned.pdf",
    }
    paths["png"].write_bytes(png([SCAN_LINE]))
    paths["digital"].write_bytes(born_digital_pdf([DIGITAL_LINES]))
    paths["scanned"].write_bytes(scanned_pdf([[SCAN_LINE]], height_in=1.0))
    return paths


def assert_result_shape(result: dict[str, Any]) -> None:
    assert set(result) == {"file", "status", "error", "pages", "timings", "document_kind", "encounters", "records"}
    # the passes label what they read; a file that failed was never labelled
    kinds = ("clinical_record", "not_clinical") if result["status"] == "completed" else ("",)
    assert result["document_kind"] in kinds
    assert isinstance(result["encounters"], list) and isinstance(result["records"], dict)
    for page in result["pages"]:
        assert set(page) == {"number", "source", "text", "mean_confidence", "words"}
        for word in page["words"]:
            assert set(word) == {"text", "box", "confidence"}
            assert len(word["box"]) == 4 and all(isinstance(v, int) for v in word["box"])
            x0, y0, x1, y1 = word["box"]
            assert 0 <= x0 < x1 and 0 <= y0 < y1


def test_json_for_each_file_and_exit_0_when_all_completed(files):
    # GIVEN a scanned PNG and a born-digital PDF
    # WHEN both are processed with --json
    code, results, stderr = run_process(files["png"], files["digital"], "--json")

    # THEN it exits 0 and prints one result per file, in order, in the documented shape
    assert code == 0, stderr
    assert [r["file"] for r in results] == [str(files["png"]), str(files["digital"])]
    for result in results:
        assert_result_shape(result)
        assert result["status"] == "completed"
        assert result["error"] is None
        assert {"conversion", "text_layer", "ocr", "total"} <= result["timings"].keys()
        assert result["timings"]["total"] > 0
    image, digital = results
    # AND the PNG was OCR'd: its sentence, its words with boxes, a high confidence
    [page] = image["pages"]
    assert (page["number"], page["source"], page["text"]) == (1, "ocr", SCAN_LINE)
    assert [w["text"] for w in page["words"]] == SCAN_LINE.split()
    assert page["mean_confidence"] > 85
    assert image["timings"]["ocr"] > 0
    # AND the PDF was read from its text layer (`auto` is the default)
    [page] = digital["pages"]
    assert (page["source"], page["text"].splitlines()) == ("text_layer", DIGITAL_LINES)
    assert page["words"][0]["text"] == "Referral"
    assert digital["timings"]["ocr"] == 0


def test_ocr_mode_option_is_applied_to_every_file(files):
    # GIVEN a born-digital PDF, a scanned PDF and a scanned PNG
    # WHEN they are processed with --ocr-mode off, and the born-digital one with --ocr-mode force
    off_results = call_process(files["digital"], files["scanned"], files["png"], "--ocr-mode", "off")
    [forced] = call_process(files["digital"], "--ocr-mode", "force")

    # THEN with OCR off the text layer is still read, and the scans are not read at all
    assert [r["status"] for r in off_results] == ["completed"] * 3
    assert [(r["pages"][0]["source"], r["pages"][0]["text"]) for r in off_results] == [
        ("text_layer", "\n".join(DIGITAL_LINES)),
        ("none", ""),
        ("none", ""),
    ]
    assert all(r["timings"]["ocr"] == 0 for r in off_results)
    # AND with OCR forced the born-digital page is OCR'd and reads the same
    assert_result_shape(forced)
    assert forced["status"] == "completed"
    assert forced["pages"][0]["source"] == "ocr"
    assert forced["pages"][0]["text"].splitlines() == DIGITAL_LINES
    assert forced["pages"][0]["mean_confidence"] < 100


def test_exit_1_when_any_file_failed_each_with_its_reason(files, tmp_path):
    # GIVEN one good file, a text file named .pdf, a corrupt PDF and a path that does not exist
    text_as_pdf = tmp_path / "notes.pdf"
    text_as_pdf.write_text("Patient notes typed in a text editor, not a PDF.\n")
    corrupt = tmp_path / "invalid.pdf"
    shutil.copyfile(INVALID_PDF, corrupt)
    missing = tmp_path / "missing.pdf"

    # WHEN they are processed together with --json
    code, results, stderr = run_process(files["png"], text_as_pdf, corrupt, missing, "--json")

    # THEN it exits 1, yet still reports every file, the good one completed
    assert code == 1, stderr
    assert [r["file"] for r in results] == [str(p) for p in (files["png"], text_as_pdf, corrupt, missing)]
    for result in results:
        assert_result_shape(result)
    good, text_file, damaged, absent = results
    assert good["status"] == "completed" and good["pages"][0]["text"] == SCAN_LINE
    # AND each failure has no pages, no timings and a reason a person understands
    for failed in (text_file, damaged, absent):
        assert failed["status"] == "failed"
        assert failed["pages"] == [] and failed["timings"] == {}
    assert "text/plain" in text_file["error"] and "not supported" in text_file["error"]
    assert "damaged" in damaged["error"]
    assert absent["error"] == "No such file."


def test_in_process_summary_and_exit_status(files, tmp_path):
    # GIVEN a scanned PNG, and a text file named .pdf
    text_as_pdf = tmp_path / "notes.pdf"
    text_as_pdf.write_text("not a pdf\n")

    # WHEN the command runs in this process without --json
    out = io.StringIO()
    call_command("process", str(files["png"]), stdout=out)

    # THEN it prints the status and each page's source, confidence and text, and does not exit
    lines = out.getvalue().splitlines()
    assert lines[0] == f"{files['png']}: completed"
    assert lines[1].startswith("--- page 1 (ocr, confidence ")
    assert lines[2] == SCAN_LINE

    # AND WHEN a file fails, the command exits with status 1 after printing the reason
    out = io.StringIO()
    with pytest.raises(SystemExit) as exited:
        call_command("process", str(text_as_pdf), stdout=out)
    assert exited.value.code == 1
    assert out.getvalue().startswith(f"{text_as_pdf}: failed (This file type (text/plain) is not supported.")
