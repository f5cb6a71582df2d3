"""Text-layer pages are read several to a message; pages that need OCR are still read alone."""

import io
import os
import re
import shutil
import time

import pikepdf
import psutil
from django.core.files.uploadedfile import SimpleUploadedFile

from documents.models import Document
from processing.engine import textlayer
from processing.engine.reader import ReadOptions, read_text_pages
from processing.models import Attempt
from tests.conftest import drain
from tests.factories import born_digital_pdf, scanned_pdf, shell_script


def merged(*pdfs: bytes) -> bytes:
    """One PDF holding the pages of each, in order."""
    target = pikepdf.new()
    sources = [pikepdf.open(io.BytesIO(pdf)) for pdf in pdfs]
    for source in sources:
        target.pages.extend(source.pages)
    buffer = io.BytesIO()
    target.save(buffer)
    return buffer.getvalue()


def digital_pages(first: int, last: int) -> bytes:
    return born_digital_pdf([[f"Typed progress note, page {n} of the record."] for n in range(first, last + 1)])


def upload(api_client, name: str, pdf: bytes) -> Document:
    response = api_client.post("/api/v1/documents/", {"file": SimpleUploadedFile(name, pdf)}, format="multipart")
    assert response.status_code == 201, response.content
    return Document.objects.get(id=response.json()["id"])


def page_runs(document: Document) -> list[tuple[int, int]]:
    """(first page, pages) of every page message that read something, in page order."""
    numbers = Attempt.objects.filter(
        job__document=document, stage=Attempt.Stage.PAGE, outcome=Attempt.Outcome.SUCCEEDED
    ).values_list("page_number", flat=True)
    firsts = sorted(n for n in numbers if n is not None)  # a page attempt always names its page
    assert document.page_count is not None
    ends = [*firsts[1:], document.page_count + 1]
    return [(first, end - first) for first, end in zip(firsts, ends, strict=True)]


def test_a_born_digital_pdf_is_read_in_runs_of_text_pages(api_client, stub_broker, stub_worker, settings):
    # GIVEN runs of at most 8 text-layer pages, and a 20-page born-digital PDF
    settings.EXORA_TEXT_BATCH_PAGES = 8
    document = upload(api_client, "typed.pdf", digital_pages(1, 20))

    # WHEN the workers run
    drain(stub_broker)

    # THEN three messages read the 20 pages: 8, 8 and 4
    document.refresh_from_db()
    assert document.status == Document.Status.COMPLETED, document.error
    assert page_runs(document) == [(1, 8), (9, 8), (17, 4)]
    # AND each page has its own text, words, size and display image, counted once
    assert document.pages_done == 20
    for page in document.pages.order_by("number"):
        assert page.source == "text_layer"
        assert f"page {page.number} of the record" in page.text
        assert any(word["text"] == "Typed" for word in page.words)
        assert (page.width, page.height) == (2550, 3300)  # letter at 300 DPI, as OCR would see it
        assert re.fullmatch(
            rf"documents/{document.id}/pages/{page.number:05d}-[0-9a-f]{{12}}\.jpg", str(page.image.name)
        )
        assert page.image.read(2) == b"\xff\xd8"  # a JPEG
        assert page.timings["render"] > 0


def test_a_scanned_page_between_typed_ones_is_read_alone_by_ocr(api_client, stub_broker, stub_worker, settings):
    # GIVEN a record of three typed pages, one scanned page, then two typed pages
    settings.EXORA_TEXT_BATCH_PAGES = 8
    scan = scanned_pdf([["Handwritten referral was scanned here"]])
    document = upload(api_client, "mixed.pdf", merged(digital_pages(1, 3), scan, digital_pages(5, 6)))

    # WHEN the workers run
    drain(stub_broker)

    # THEN the typed pages went in runs that stop at the scan, and the scan was OCR'd alone
    document.refresh_from_db()
    assert document.status == Document.Status.COMPLETED, document.error
    assert page_runs(document) == [(1, 3), (4, 1), (5, 2)]
    sources = dict(document.pages.values_list("number", "source"))
    assert sources == {1: "text_layer", 2: "text_layer", 3: "text_layer", 4: "ocr", 5: "text_layer", 6: "text_layer"}
    assert "referral was scanned" in document.pages.get(number=4).text


def test_forced_ocr_reads_every_page_alone(api_client, stub_broker, stub_worker, settings):
    # GIVEN a 3-page born-digital PDF uploaded with OCR forced
    settings.EXORA_TEXT_BATCH_PAGES = 8
    response = api_client.post(
        "/api/v1/documents/",
        {"file": SimpleUploadedFile("forced.pdf", digital_pages(1, 3)), "ocr_mode": "force"},
        format="multipart",
    )
    document = Document.objects.get(id=response.json()["id"])

    # WHEN the workers run
    drain(stub_broker)

    # THEN each page was its own message, and OCR read it
    document.refresh_from_db()
    assert page_runs(document) == [(1, 1), (2, 1), (3, 1)]
    assert set(document.pages.values_list("source", flat=True)) == {"ocr"}


def test_planning_finds_the_pages_with_real_text(tmp_path):
    # GIVEN a PDF of two typed pages around a scanned one
    path = tmp_path / "mixed.pdf"
    path.write_bytes(merged(digital_pages(1, 1), scanned_pdf([["Only pixels on this page"]]), digital_pages(3, 3)))

    # WHEN its pages are planned
    text_pages = textlayer.pages_with_real_text(path, 3, timeout=30)

    # THEN the typed pages, and only they, are read from their text layer
    assert text_pages == {1, 3}


def test_planning_a_file_poppler_cannot_read_plans_nothing(tmp_path):
    # GIVEN a file that is not a PDF at all
    path = tmp_path / "broken.pdf"
    path.write_bytes(b"%PDF-1.4 this is not a PDF")

    # WHEN its pages are planned
    # THEN nothing is planned as text, so every page would be read on its own
    assert textlayer.pages_with_real_text(path, 1, timeout=30) == set()


def test_pages_poppler_cannot_render_together_in_time_are_read_one_by_one(tmp_path, monkeypatch):
    # GIVEN a display renderer that hangs when asked for several pages, and renders one page as usual
    real = shutil.which("pdftocairo")
    # Its arguments are -r N -f FIRST -l LAST ...
    pid_file = tmp_path / "hung.pid"
    wrapper = shell_script(
        tmp_path / "bin" / "pdftocairo",
        f'[ "$4" = "$6" ] || {{ echo $$ > {pid_file}; exec sleep 300; }}\nexec {real} "$@"',
    )
    monkeypatch.setenv("PATH", f"{wrapper.parent}:{os.environ['PATH']}")
    pdf = tmp_path / "typed.pdf"
    pdf.write_bytes(digital_pages(1, 3))
    options = ReadOptions(
        ocr_mode="auto", dpi=300, display_dpi=100, languages="eng", timeout=2, max_render_pixels=40_000_000
    )

    # WHEN the three pages are read as one run with a 2-second limit
    started = time.monotonic()
    read = read_text_pages(pdf, 1, 3, tmp_path, options)

    # THEN the run gave up after the limit, killed the hung renderer, and read each page
    # alone, from its text layer
    assert time.monotonic() - started < 15
    assert not psutil.pid_exists(int(pid_file.read_text()))
    assert [result.number for result, _ in read] == [1, 2, 3]
    for result, display in read:
        assert result.source == "text_layer"
        assert f"page {result.number} of the record" in result.text
        assert display.read_bytes()[:2] == b"\xff\xd8"
