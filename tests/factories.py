"""What the tests make for themselves: real pages with known text, as images and PDFs, and
stand-ins for the tools we run (a tesseract that hangs, a pdftoppm that dies)."""

import io
import stat
from pathlib import Path

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from PIL import Image, ImageDraw, ImageFont
from reportlab.lib.pagesizes import letter
from reportlab.pdfgen import canvas

DATA = Path(__file__).parent / "data"


def text_page(lines: list[str], *, dpi: int = 300, width_in: float = 8.5, height_in: float = 3.0) -> Image.Image:
    """A white page at `dpi` with `lines` printed in a 12-point sans-serif font."""
    image = Image.new("L", (int(width_in * dpi), int(height_in * dpi)), 255)
    draw = ImageDraw.Draw(image)
    font = ImageFont.load_default(size=round(12 * dpi / 72))
    y = dpi // 2
    for line in lines:
        draw.text((dpi // 2, y), line, fill=0, font=font)
        y += round(18 * dpi / 72)
    return image


def scanned_pdf(pages: list[list[str]], *, dpi: int = 300, height_in: float = 3.0) -> bytes:
    """An image-only PDF (like a scanner's) with one page per list of lines."""
    images = [text_page(lines, dpi=dpi, height_in=height_in) for lines in pages]
    buffer = io.BytesIO()
    images[0].save(buffer, "PDF", resolution=dpi, save_all=True, append_images=images[1:])
    return buffer.getvalue()


def born_digital_pdf(pages: list[list[str]]) -> bytes:
    """A PDF with a real text layer, one page per list of lines."""
    buffer = io.BytesIO()
    pdf = canvas.Canvas(buffer, pagesize=letter)
    for lines in pages:
        text = pdf.beginText(72, 720)
        text.setFont("Helvetica", 12)
        for line in lines:
            text.textLine(line)
        pdf.drawText(text)
        pdf.showPage()
    pdf.save()
    return buffer.getvalue()


def png(lines: list[str]) -> bytes:
    buffer = io.BytesIO()
    text_page(lines).save(buffer, "PNG")
    return buffer.getvalue()


def shell_script(path: Path, body: str) -> Path:
    """An executable shell script at `path`, standing in for a tool."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"#!/bin/sh\n{body}\n")
    path.chmod(path.stat().st_mode | stat.S_IEXEC)
    return path


def replace_stored_file(name: str | None, content: bytes) -> None:
    """Put other bytes in a stored file, as a damaged disk or a bad copy would."""
    assert name, "a file field with no file"
    default_storage.delete(name)
    assert default_storage.save(name, ContentFile(content)) == name


def api_token(user) -> str:
    """A new API token's key for `user` (django-rest-knox keeps only its hash)."""
    from knox.models import AuthToken

    return AuthToken.objects.create(user=user)[1]
