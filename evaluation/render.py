"""Print a document's narrative to PDF pages as a records system would: a title, a patient
banner repeated on every page, section headings, tables with ruled columns, and (optionally)
"Page i of N" in the footer."""

import io
from collections.abc import Callable
from typing import Any

from reportlab.lib.pagesizes import letter
from reportlab.lib.utils import simpleSplit
from reportlab.pdfgen import canvas

from evaluation.ccda import Block

WIDTH, HEIGHT = letter
MARGIN = 54
BODY, SMALL = 10, 9
LEADING = 13


class _Printer:
    def __init__(self, doc: dict[str, Any], footer: bool, total: int | None = None) -> None:
        """`footer`: print 'Page i of N' at the foot of each page, N being `total` when known."""
        self.buffer = io.BytesIO()
        self.pdf = canvas.Canvas(self.buffer, pagesize=letter, invariant=1)  # same bytes every run
        self.doc = doc
        self.footer = footer
        self.total = total
        self.pages = 0
        self.y = 0.0

    def start_page(self, new_report: bool = False) -> None:
        if self.pages:
            if self.footer:
                self.page_number()
            self.pdf.showPage()
        self.pages += 1
        self.y = HEIGHT - MARGIN
        if self.pages == 1 or new_report or self.doc.get("running_title"):
            self.title()
        else:
            self.banner()

    def title(self) -> None:
        """The report's title, banner and header lines, where the report starts."""
        pdf, doc = self.pdf, self.doc
        pdf.setFont("Helvetica-Bold", 16)
        pdf.drawString(MARGIN, self.y - 6, doc["title"])
        self.y -= 28
        self.banner()
        pdf.setFont("Helvetica", BODY)
        for line in doc.get("header_lines", []):
            pdf.drawString(MARGIN, self.y, line)
            self.y -= LEADING
        self.y -= 8

    def banner(self) -> None:
        if self.doc.get("banner"):
            self.pdf.setFont("Helvetica", SMALL)
            self.pdf.drawString(MARGIN, self.y, self.doc["banner"])
            self.y -= 6
            self.pdf.line(MARGIN, self.y, WIDTH - MARGIN, self.y)
            self.y -= 16

    def need(self, height: float) -> None:
        if self.y - height < MARGIN + 24:
            self.start_page()

    def heading(self, text: str) -> None:
        self.need(LEADING * 3)
        self.y -= 6
        self.pdf.setFont("Helvetica-Bold", 12)
        self.pdf.drawString(MARGIN, self.y, text.upper())
        self.y -= LEADING + 3

    def para(self, text: str) -> None:
        for line in simpleSplit(text, "Helvetica", BODY, WIDTH - 2 * MARGIN):
            self.need(LEADING)
            self.pdf.setFont("Helvetica", BODY)
            self.pdf.drawString(MARGIN, self.y, line)
            self.y -= LEADING
        self.y -= 4

    def table(self, header: list[str], rows: list[list[str]]) -> None:
        columns = max([len(header)] + [len(r) for r in rows])
        if columns == 0:
            return
        usable = WIDTH - 2 * MARGIN
        # columns as wide as their longest words need, then shared out: a printout's table
        longest = [max([len(header[i]) if i < len(header) else 0] + [len(r[i]) if i < len(r) else 0 for r in rows])
                   for i in range(columns)]  # fmt: skip
        words = [
            max([len(w) for r in [header, *rows] if i < len(r) for w in r[i].split()] + [0]) for i in range(columns)
        ]
        weights = [min(max(n, words[i] + 2, 8), 45) for i, n in enumerate(longest)]
        widths = [usable * w / sum(weights) for w in weights]
        lefts = [MARGIN + sum(widths[:i]) for i in range(columns)]
        if header:
            self._row(header, lefts, widths, bold=True)
        for row in rows:
            self._row(row, lefts, widths, bold=False)
        self.y -= 8

    def _row(self, cells: list[str], lefts: list[float], widths: list[float], bold: bool) -> None:
        font = "Helvetica-Bold" if bold else "Helvetica"
        wrapped = [simpleSplit(c, font, SMALL, w - 18) if c else [] for c, w in zip(cells, widths, strict=False)]
        height = max([len(w) for w in wrapped] + [1]) * (LEADING - 1) + 4
        self.need(height)
        self.pdf.setFont(font, SMALL)
        for k, lines in enumerate(wrapped):
            for j, line in enumerate(lines):
                self.pdf.drawString(lefts[k] + 2, self.y - j * (LEADING - 1), line)
        self.y -= height
        self.pdf.setLineWidth(0.3)
        self.pdf.line(MARGIN, self.y + 8, WIDTH - MARGIN, self.y + 8)

    def page_number(self) -> None:
        self.pdf.setFont("Helvetica", SMALL)
        text = f"Page {self.pages} of {self.total or self.pages}"
        self.pdf.drawRightString(WIDTH - MARGIN, MARGIN - 10, text)

    def finish(self) -> bytes:
        self.pdf.showPage()
        self.pdf.save()
        return self.buffer.getvalue()


def render(doc: dict[str, Any], blocks: list[Block], *, footer: bool) -> bytes:
    return in_two_passes(_print, doc, blocks, footer=footer)


PrintPages = Callable[..., tuple[bytes, int]]


def in_two_passes(print_pages: PrintPages, doc: dict[str, Any], blocks: list[Block], *, footer: bool) -> bytes:
    """Two passes: the first counts pages so the second can print 'Page i of N'."""
    total = print_pages(doc, blocks, footer=False, total=None)[1]
    pdf: bytes = print_pages(doc, blocks, footer=footer, total=total)[0]
    return pdf


def _print(doc: dict[str, Any], blocks: list[Block], *, footer: bool, total: int | None) -> tuple[bytes, int]:
    printer = _Printer(doc, footer, total)
    printer.start_page()
    for block in blocks:
        _block(printer, block)
    if footer:
        printer.page_number()
    return printer.finish(), printer.pages


def render_many(documents: list[tuple[dict[str, Any], list[Block]]]) -> tuple[bytes, list[int]]:
    """Several reports printed one after the other, as a fax or an export does: each ends with
    its signature line, and the next starts on the same page when there is room.
    Returns the PDF and the page each report starts on."""
    printer = _Printer(documents[0][0], footer=False)
    starts = []
    for n, (doc, blocks) in enumerate(documents):
        if n == 0:
            printer.start_page()
        else:
            printer.doc = doc
            if printer.y < MARGIN + 260:
                printer.start_page(new_report=True)
            else:
                printer.y -= 24
                printer.title()
        starts.append(printer.pages)
        for block in blocks:
            _block(printer, block)
        printer.need(LEADING * 3)
        printer.pdf.setFont("Helvetica-Oblique", BODY)
        signer = doc.get("provider") or "the author"
        printer.pdf.drawString(MARGIN, printer.y, f"Electronically signed by {signer}. End of report.")
        printer.y -= LEADING * 2
    return printer.finish(), starts


def _block(printer: _Printer, block: Block) -> None:
    if block.kind == "heading":
        printer.heading(block.text)
    elif block.kind == "para":
        printer.para(block.text)
    else:
        printer.table(block.header, block.rows)
