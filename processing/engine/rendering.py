"""Turning a stored file into page images, one page at a time (poppler, Pillow).

Nothing here holds more than one page in memory: PDF pages are rendered by poppler into a
working folder, and image frames are copied out one by one.
"""

import contextlib
import io
import math
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pikepdf
from PIL import Image, UnidentifiedImageError

from processing.engine import sandbox
from processing.engine.errors import PermanentError, TransientError, UnrenderablePage, pages_named

PDF = "application/pdf"
IMAGE_TYPES = ("image/png", "image/jpeg", "image/tiff")
SUPPORTED_TYPES = (PDF, *IMAGE_TYPES)
DISPLAY_JPEG_QUALITY = 85
DISPLAY_JPEG_OPTIONS = f"quality={DISPLAY_JPEG_QUALITY},optimize=n,progressive=n"
DISPLAY_MAX_SIDE = 1700  # pixels; enough to read a letter page on screen


def capped_dpi(path: Path, number: int, dpi: int, max_pixels: int) -> int:
    """The DPI to render page `number` at: `dpi`, lowered for pages so large that the image
    would exceed `max_pixels` (a poster-sized scan would otherwise take gigabytes)."""
    with pikepdf.open(path) as pdf:
        x0, y0, x1, y1 = (float(v) for v in pdf.pages[number - 1].mediabox.as_list())
    area_square_inches = abs(x1 - x0) * abs(y1 - y0) / (72 * 72)
    if area_square_inches * dpi * dpi <= max_pixels:
        return dpi
    return max(36, math.floor(math.sqrt(max_pixels / area_square_inches)))


def embedded_scan(path: Path, number: int, workdir: Path, *, dpi: int) -> Path | None:
    """The page's own JPEG, written to `workdir`, when the page is a plain scan: nothing but one
    grayscale or RGB JPEG filling the page at exactly `dpi`. None for any other page.

    These are the pixels pdftoppm would draw, without the ~250 ms of CPU poppler takes to
    decode and redraw a 300-DPI letter page (a tenth of Tesseract's time on it); Tesseract
    decodes the JPEG itself. Any doubt (rotation, crop, annotations, masks, other drawing,
    another resolution or colour space) returns None, and the page is rendered as before.
    """
    try:
        with pikepdf.open(path) as pdf:
            found = _plain_scan_jpeg(pdf.pages[number - 1], dpi)
        if found is None:
            return None
        data, size = found
        with Image.open(io.BytesIO(data)) as header:  # the JPEG itself must agree with the PDF
            if header.format != "JPEG" or header.mode not in ("L", "RGB") or header.size != size:
                return None
            if header.getexif().get(0x0112, 1) != 1:  # an EXIF rotation PDF viewers ignore
                return None
    except (pikepdf.PdfError, OSError, ValueError, TypeError, KeyError, IndexError, AttributeError):
        return None
    target = workdir / "ocr.jpg"
    target.write_bytes(data)
    return target


def _plain_scan_jpeg(page: pikepdf.Page, dpi: int) -> tuple[bytes, tuple[int, int]] | None:
    obj = page.obj
    rotate = 0
    node: pikepdf.Object | None = obj
    while node is not None:  # /Rotate is inherited through the page tree
        if "/Rotate" in node:
            rotate = int(node.Rotate)
            break
        node = node.get("/Parent")
    x0, y0, x1, y1 = (float(v) for v in page.mediabox.as_list())
    if rotate % 360 or [float(v) for v in page.cropbox.as_list()] != [x0, y0, x1, y1]:
        return None
    if "/UserUnit" in obj or obj.get("/Annots"):
        return None
    resources = obj.get("/Resources")
    xobjects = resources.get("/XObject") if resources is not None else None
    if xobjects is None or len(xobjects) != 1:  # none, or more than the one image
        return None
    [(name, image)] = xobjects.items()
    size = (round((x1 - x0) * dpi / 72), round((y1 - y0) * dpi / 72))
    if (
        image.get("/Subtype") != pikepdf.Name.Image
        or image.get("/Filter") != pikepdf.Name.DCTDecode
        or image.get("/BitsPerComponent") != 8
        or image.get("/ColorSpace") not in (pikepdf.Name.DeviceGray, pikepdf.Name.DeviceRGB)
        or any(key in image for key in ("/Decode", "/DecodeParms", "/SMask", "/Mask", "/ImageMask"))
        or (int(image.Width), int(image.Height)) != size
    ):
        return None
    # The page must draw exactly: q, a matrix stretching the image over the page, Do, Q.
    program = [(str(step.operator), list(step.operands)) for step in pikepdf.parse_content_stream(page)]
    if [operator for operator, _ in program] != ["q", "cm", "Do", "Q"] or program[2][1] != [pikepdf.Name(name)]:
        return None
    matrix = [float(v) for v in program[1][1]]
    if any(abs(a - b) > 0.01 for a, b in zip(matrix, [x1 - x0, 0, 0, y1 - y0, x0, y0], strict=True)):
        return None
    return image.read_raw_bytes(), size


def render_pdf_page(
    path: Path,
    number: int,
    workdir: Path,
    *,
    dpi: int,
    for_ocr: bool,
    timeout: int,
    limits: sandbox.ToolLimits = sandbox.DEFAULT_LIMITS,
) -> Path:
    """Render one page: grayscale PGM for OCR, or a JPEG to display."""
    with rendering_pdf_pages(
        path, number, number, workdir, dpi=dpi, for_ocr=for_ocr, timeout=timeout, limits=limits
    ) as rendered:
        return rendered()[0]


@contextlib.contextmanager
def rendering_pdf_pages(
    path: Path,
    first: int,
    last: int,
    workdir: Path,
    *,
    dpi: int,
    for_ocr: bool,
    timeout: int,
    limits: sandbox.ToolLimits = sandbox.DEFAULT_LIMITS,
) -> Iterator[Callable[[], list[Path]]]:
    """Start rendering pages `first` to `last` in the background, so that the block can do
    something else meanwhile (read the text layer); the block gets a function that waits for
    the files, at most `timeout` seconds from the start. A render still running when the
    block ends is killed. poppler runs in the box (engine.sandbox): a page image may not pass
    `limits.output_mb`.

    Grayscale PGM for OCR comes from pdftoppm; display JPEGs from pdftocairo, which draws a
    text page in a quarter less CPU (benchmarks/README.md). Both are run directly: pdf2image's
    convert_from_path first runs `pdfinfo` and `pdftoppm -v`, two more processes per call
    (about 25 ms, half the cost of rendering a text page for display).
    """
    stem = workdir / ("ocr" if for_ocr else "display")
    if for_ocr:
        tool, suffix, fmt = "pdftoppm", ".pgm", ["-gray"]
    else:
        tool, suffix, fmt = "pdftocairo", ".jpg", ["-jpeg", "-jpegopt", DISPLAY_JPEG_OPTIONS]
    single = ["-singlefile"] if first == last else []
    command = [tool, "-r", str(dpi), "-f", str(first), "-l", str(last), *fmt, *single, str(path), str(stem)]
    deadline = time.monotonic() + timeout
    try:
        process = sandbox.start(command, limits, timeout=timeout, output_bytes=limits.output_mb * sandbox.MB)
    except FileNotFoundError as exc:
        raise TransientError("The PDF tools (poppler) are not installed on this worker.") from exc

    def rendered() -> list[Path]:
        try:
            process.wait(timeout=max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired as exc:
            raise TransientError(f"Rendering {pages_named(first, last)} took longer than {timeout} s.") from exc
        sandbox.raise_if_limited(process.returncode, tool)
        return _rendered_files(stem, suffix, first, last, single=bool(single))

    try:
        yield rendered
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def _rendered_files(stem: Path, suffix: str, first: int, last: int, *, single: bool) -> list[Path]:
    if single:
        outputs = [stem.with_suffix(suffix)]
    else:  # stem-7.jpg, or stem-007.jpg: poppler pads to the digits of the file's page count
        rendered = {int(p.stem.rsplit("-", 1)[1]): p for p in stem.parent.glob(f"{stem.name}-*{suffix}")}
        outputs = [rendered.get(number, stem.parent / "missing") for number in range(first, last + 1)]
    for number, output in zip(range(first, last + 1), outputs, strict=True):
        # a page that is missing or that poppler cannot draw; a page it could not even create
        # ("Failed to create page") comes out as a 1 x 1 pixel stand-in, without an error
        if not output.is_file() or _is_stand_in(output):
            raise UnrenderablePage(f"Page {number} of this PDF could not be rendered.")
    return outputs


def _is_stand_in(image: Path) -> bool:
    try:
        with Image.open(image) as opened:  # reads the header only
            width, height = opened.size
    except (UnidentifiedImageError, OSError):
        return True
    return (width, height) == (1, 1)


def image_frame(path: Path, number: int, workdir: Path) -> tuple[Path, Path, int, int]:
    """Copy frame `number` of an image out as a grayscale PGM for OCR and a display JPEG."""
    with _open_image(path) as image:
        try:
            image.seek(number - 1)
        except EOFError as exc:
            raise PermanentError(f"Page {number} is missing from this image file.") from exc
        try:
            frame = image.copy()
        except OSError as exc:  # truncated or corrupt pixel data shows only when decoded
            raise PermanentError(f"Page {number} of this image is damaged.") from exc
    ocr_path = workdir / "ocr.pgm"
    frame.convert("L").save(ocr_path)
    display_path = save_display_jpeg(frame, workdir / "display.jpg")
    return ocr_path, display_path, frame.width, frame.height


def save_display_jpeg(image: Image.Image, target: Path) -> Path:
    display = image.convert("RGB")
    display.thumbnail((DISPLAY_MAX_SIDE, DISPLAY_MAX_SIDE))
    display.save(target, "JPEG", quality=DISPLAY_JPEG_QUALITY)
    return target


def _open_image(path: Path) -> Image.Image:
    try:
        image = Image.open(path)
    except Image.DecompressionBombError as exc:
        raise PermanentError("This image is too large to process (too many pixels).") from exc
    except (UnidentifiedImageError, OSError) as exc:
        raise PermanentError("This image is damaged or not in a format we read.") from exc
    # Flatten transparency onto white: Tesseract reads transparent pixels as black.
    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        flattened = Image.new("RGB", rgba.size, "white")
        flattened.paste(rgba, mask=rgba.getchannel("A"))
        image.close()
        return flattened
    return image
