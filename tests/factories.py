"""What the tests make for themselves: real pages with known text, as images and PDFs, and
stand-ins for the tools we run (a tesseract that hangs, a pdftoppm that dies)."""

import io
import stat
from pathlib import Path

import pikepdf
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


def text_bomb_pdf(depth: int = 7, fanout: int = 10) -> bytes:
    """A one-page PDF of a few kilobytes whose text is one line drawn fanout**depth times:
    form XObjects nested `depth` deep, each drawing the one below `fanout` times (10**7 lines,
    about 600 MB of text, for the defaults)."""
    pdf = pikepdf.new()
    font = pdf.make_indirect(
        pikepdf.Dictionary(Type=pikepdf.Name.Font, Subtype=pikepdf.Name.Type1, BaseFont=pikepdf.Name.Helvetica)
    )
    line = b"BT /F1 10 Tf 72 700 Td (Every line of this page is the same line, drawn again.) Tj ET"
    form = {"Type": pikepdf.Name.XObject, "Subtype": pikepdf.Name.Form, "BBox": [0, 0, 612, 792]}
    inner = pikepdf.Stream(pdf, line, Resources=pikepdf.Dictionary(Font=pikepdf.Dictionary(F1=font)), **form)
    for _level in range(depth):
        drawn = pikepdf.Dictionary(XObject=pikepdf.Dictionary(X=pdf.make_indirect(inner)))
        # Each copy a little lower than the one before, as real lines of text would be.
        copies = [b"q 1 0 0 1 0 %d cm /X Do Q" % (-n * 12) for n in range(fanout)]
        inner = pikepdf.Stream(pdf, b" ".join(copies), Resources=drawn, **form)
    page = pikepdf.Dictionary(
        Type=pikepdf.Name.Page,
        MediaBox=[0, 0, 612, 792],
        Contents=pdf.make_indirect(pikepdf.Stream(pdf, b"/X Do")),
        Resources=pikepdf.Dictionary(XObject=pikepdf.Dictionary(X=pdf.make_indirect(inner))),
    )
    pdf.pages.append(pikepdf.Page(page))
    buffer = io.BytesIO()
    pdf.save(buffer)
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
