"""Reading one page of a file: its text layer where it has a real one, OCR otherwise."""

import logging
import time
from dataclasses import dataclass
from pathlib import Path

from PIL import Image

from processing.engine import ocr, rendering, sandbox, textlayer, validation
from processing.engine.errors import ProcessingError, UnrenderablePage
from processing.engine.results import PageResult

logger = logging.getLogger(__name__)

DISPLAY_IMAGE_NAME = "display.jpg"
REWRITTEN_NAME = "rewritten.pdf"


@dataclass(frozen=True)
class ReadOptions:
    """How pages are read (`processing.options.read_options` fills them in from the settings)."""

    ocr_mode: str  # auto | force | off
    dpi: int
    display_dpi: int
    languages: str
    timeout: int  # seconds for each tool run on a page (or a run of pages)
    max_render_pixels: int  # a page is rendered at `dpi` unless it would exceed this
    # The box every tool reading the file runs in (engine.sandbox).
    tool_limits: sandbox.ToolLimits = sandbox.DEFAULT_LIMITS


def read_page(path: Path, mime_type: str, number: int, workdir: Path, options: ReadOptions) -> tuple[PageResult, Path]:
    """Read page `number`; return what was read and the path of its display JPEG in `workdir`."""
    started = time.perf_counter()
    if mime_type == rendering.PDF:
        try:
            result, display = _read_pdf_page(path, number, workdir, options)
        except UnrenderablePage:
            rewritten = workdir / REWRITTEN_NAME
            if not validation.rewrite_for_poppler_in_box(path, rewritten, options.tool_limits, options.timeout):
                raise
            logger.info("page %s: poppler would not draw it; reading it again from a copy rewritten by qpdf", number)
            result, display = _read_pdf_page(rewritten, number, workdir, options)
    else:
        result, display = _read_image_frame(path, number, workdir, options)
    result.timings["total"] = round(time.perf_counter() - started, 4)
    return result, display


def read_text_pages(
    path: Path, first: int, last: int, workdir: Path, options: ReadOptions
) -> list[tuple[PageResult, Path]]:
    """Read PDF pages `first` to `last` that were planned as text-layer pages, with one poppler
    run for their text and, at the same time, one for their display images; a page whose
    layer turns out not to be real text after all is read on its own, as `read_page` reads it.

    The poppler runs get one page's time limit for them all; when that is not enough, or
    poppler fails on one of the pages, every page is read on its own, with its own limit.
    """
    started = time.perf_counter()
    try:
        with rendering.rendering_pdf_pages(
            path,
            first,
            last,
            workdir,
            dpi=options.display_dpi,
            for_ocr=False,
            timeout=options.timeout,
            limits=options.tool_limits,
        ) as rendered:
            layers = textlayer.read_text_layers(
                path, first, last, dpi=options.dpi, timeout=options.timeout, limits=options.tool_limits
            )
            text_seconds = time.perf_counter() - started
            displays = rendered()
    except sandbox.ToolLimitExceeded:
        raise  # the file's doing: one page at a time would pass the same limit again
    except ProcessingError:
        logger.warning("pages %s-%s of %s: reading them together failed; reading them one by one", first, last, path)
        return [
            read_page(path, rendering.PDF, number, _own_folder(workdir, number), options)
            for number in range(first, last + 1)
        ]
    count = last - first + 1
    total_seconds = time.perf_counter() - started
    # The display images are drawn while the text is read: rendering is what it added.
    share = {
        "text_layer": round(text_seconds / count, 4),
        "render": round((total_seconds - text_seconds) / count, 4),
        "total": round(total_seconds / count, 4),
    }
    by_number = {layer.number: layer for layer in layers}
    results = []
    for number, display in zip(range(first, last + 1), displays, strict=True):
        layer = by_number.get(number)
        if layer is not None and (options.ocr_mode == "off" or textlayer.is_real_text(layer.text)):
            results.append((_text_layer_result(layer, dict(share)), display))
        else:
            results.append(read_page(path, rendering.PDF, number, _own_folder(workdir, number), options))
    return results


def _own_folder(workdir: Path, number: int) -> Path:
    folder = workdir / f"page-{number}"
    folder.mkdir(exist_ok=True)
    return folder


def _text_layer_result(layer: textlayer.PageText, timings: dict[str, float]) -> PageResult:
    source = "text_layer" if layer.text else "none"
    confidence = 100.0 if layer.words else None
    return PageResult(layer.number, source, layer.text, confidence, layer.words, layer.width, layer.height, timings)


def _read_pdf_page(path: Path, number: int, workdir: Path, options: ReadOptions) -> tuple[PageResult, Path]:
    timings: dict[str, float] = {}
    if options.ocr_mode != "force":
        clock = time.perf_counter()
        layers = textlayer.read_text_layers(
            path, number, number, dpi=options.dpi, timeout=options.timeout, limits=options.tool_limits
        )
        layer = layers[0] if layers else textlayer.PageText(number, "", [], 0, 0)
        timings["text_layer"] = round(time.perf_counter() - clock, 4)
        if options.ocr_mode == "off" or textlayer.is_real_text(layer.text):
            clock = time.perf_counter()
            display = rendering.render_pdf_page(
                path,
                number,
                workdir,
                dpi=options.display_dpi,
                for_ocr=False,
                timeout=options.timeout,
                limits=options.tool_limits,
            )
            timings["render"] = round(time.perf_counter() - clock, 4)
            return _text_layer_result(layer, timings), display

    clock = time.perf_counter()
    dpi = rendering.capped_dpi(path, number, options.dpi, options.max_render_pixels)
    ocr_image = rendering.embedded_scan(path, number, workdir, dpi=dpi) or rendering.render_pdf_page(
        path, number, workdir, dpi=dpi, for_ocr=True, timeout=options.timeout, limits=options.tool_limits
    )
    display, width, height = _display_from_ocr_image(ocr_image, workdir, dpi, options.display_dpi)
    timings["render"] = round(time.perf_counter() - clock, 4)
    return _ocr(ocr_image, number, width, height, timings, options, dpi), display


def _read_image_frame(path: Path, number: int, workdir: Path, options: ReadOptions) -> tuple[PageResult, Path]:
    timings: dict[str, float] = {}
    clock = time.perf_counter()
    ocr_image, display, width, height = rendering.image_frame(path, number, workdir)
    timings["render"] = round(time.perf_counter() - clock, 4)
    if options.ocr_mode == "off":
        return PageResult(number, "none", "", None, [], width, height, timings), display
    return _ocr(ocr_image, number, width, height, timings, options), display


def _ocr(
    image: Path,
    number: int,
    width: int,
    height: int,
    timings: dict[str, float],
    options: ReadOptions,
    dpi: int | None = None,
) -> PageResult:
    clock = time.perf_counter()
    text, words, mean = ocr.ocr_page(
        image, languages=options.languages, dpi=dpi or options.dpi, timeout=options.timeout, limits=options.tool_limits
    )
    timings["ocr"] = round(time.perf_counter() - clock, 4)
    return PageResult(number, "ocr", text, mean, words, width, height, timings)


def _display_from_ocr_image(ocr_image: Path, workdir: Path, dpi: int, display_dpi: int) -> tuple[Path, int, int]:
    """Shrink the page rendered for OCR into the display JPEG, instead of rendering it twice."""
    with Image.open(ocr_image) as image:
        width, height = image.size
        factor = max(1, round(dpi / display_dpi))
        display = image.reduce(factor) if factor > 1 else image.copy()
    return rendering.save_display_jpeg(display, workdir / DISPLAY_IMAGE_NAME), width, height
