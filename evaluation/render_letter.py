"""Print a document as a clinic letter: a letterhead, "Re:" the patient, paragraphs in Times,
tables written out as sentences, and two columns on every other page (a newsletter-like
continuation sheet), so the reading cannot lean on one printout's ruled tables or font."""

import io
from typing import Any

from reportlab.lib.pagesizes import letter
from reportlab.lib.utils import simpleSplit
from reportlab.pdfgen import canvas

from evaluation.ccda import Block
from evaluation.layouts import sentences
from evaluation.render import in_two_passes

WIDTH, HEIGHT = letter
MARGIN = 64
FONT, BOLD, SIZE, LEADING = "Times-Roman", "Times-Bold", 11.5, 15
GUTTER = 22


class _Letter:
    def __init__(self, doc: dict[str, Any], footer: bool, total: int | None) -> None:
        self.buffer = io.BytesIO()
        self.pdf = canvas.Canvas(self.buffer, pagesize=letter, invariant=1)  # same bytes every run
        self.doc = doc
        self.footer = footer
        self.total = total
        self.pages = 0
        self.column = 0
        self.y = 0.0
        self.top = 0.0

    @property
    def columns(self) -> int:
        return 2 if self.pages % 2 == 0 else 1

    @property
    def width(self) -> float:
        usable = WIDTH - 2 * MARGIN
        return usable if self.columns == 1 else (usable - GUTTER) / 2

    @property
    def left(self) -> float:
        return MARGIN + self.column * (self.width + GUTTER)

    def start_page(self) -> None:
        if self.pages:
            self._footer()
            self.pdf.showPage()
        self.pages += 1
        self.column = 0
        self.y = HEIGHT - MARGIN
        if self.pages == 1:
            self._letterhead()
        elif self.doc.get("banner"):
            self.pdf.setFont(FONT, SIZE - 2)
            self.pdf.drawString(MARGIN, self.y, self.doc["banner"].replace("   ", ", "))
            self.y -= LEADING * 1.6
        self.top = self.y

    def _letterhead(self) -> None:
        pdf, doc = self.pdf, self.doc
        if doc.get("title"):
            pdf.setFont(BOLD, SIZE + 3)
            pdf.drawCentredString(WIDTH / 2, self.y, doc["title"])
            self.y -= LEADING * 1.8
        pdf.setFont(FONT, SIZE)
        for line in doc.get("header_lines", []):
            pdf.drawString(MARGIN, self.y, line)
            self.y -= LEADING
        if doc.get("banner"):
            self.y -= LEADING / 2
            pdf.drawString(MARGIN, self.y, "Re: " + doc["banner"].replace("   ", ", "))
            self.y -= LEADING
        self.y -= LEADING / 2
        pdf.drawString(MARGIN, self.y, "Dear Colleague,")
        self.y -= LEADING * 1.5

    def need(self, height: float) -> None:
        if self.y - height >= MARGIN + 20:
            return
        if self.column + 1 < self.columns:
            self.column += 1
            self.y = self.top
        else:
            self.start_page()

    def heading(self, text: str) -> None:
        self.need(LEADING * 3)
        self.y -= LEADING / 3
        self.pdf.setFont(BOLD, SIZE)
        for line in simpleSplit(text, BOLD, SIZE, self.width):
            self.pdf.drawString(self.left, self.y, line)
            self.y -= LEADING

    def paragraph(self, text: str) -> None:
        for line in simpleSplit(text, FONT, SIZE, self.width):
            self.need(LEADING)
            self.pdf.setFont(FONT, SIZE)
            self.pdf.drawString(self.left, self.y, line)
            self.y -= LEADING
        self.y -= LEADING / 3

    def _footer(self) -> None:
        if self.footer:
            self.pdf.setFont(FONT, SIZE - 2)
            self.pdf.drawCentredString(WIDTH / 2, MARGIN - 20, f"Page {self.pages} of {self.total or self.pages}")

    def finish(self) -> bytes:
        self.need(LEADING * 3)
        self.pdf.setFont(FONT, SIZE)
        self.pdf.drawString(self.left, self.y - LEADING, "Yours sincerely,")
        self.pdf.drawString(self.left, self.y - 2.5 * LEADING, self.doc.get("provider") or "The care team")
        self._footer()
        self.pdf.showPage()
        self.pdf.save()
        return self.buffer.getvalue()


def render_letter(doc: dict[str, Any], blocks: list[Block], *, footer: bool) -> bytes:
    return in_two_passes(_print, doc, blocks, footer=footer)


def _print(doc: dict[str, Any], blocks: list[Block], *, footer: bool, total: int | None) -> tuple[bytes, int]:
    printer = _Letter(doc, footer, total)
    printer.start_page()
    for block in blocks:
        if block.kind == "heading":
            printer.heading(block.text)
        else:
            for sentence in sentences(block):
                printer.paragraph(sentence)
    pdf = printer.finish()
    return pdf, printer.pages
