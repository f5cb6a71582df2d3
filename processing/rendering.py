"""Turning a stored file into page images, one page at a time (poppler via pdf2image, Pillow).

Nothing here holds more than one page in memory: PDF pages are rendered by pdftoppm into a
working folder, and image frames are copied out one by one.
"""

import math
from pathlib import Path

import pikepdf
from pdf2image import convert_from_path
from pdf2image.exceptions import PDFPopplerTimeoutError
from PIL import Image, UnidentifiedImageError

from processing.errors import PermanentError, TransientError

PDF = "application/pdf"
IMAGE_TYPES = ("image/png", "image/jpeg", "image/tiff")
SUPPORTED_TYPES = (PDF, *IMAGE_TYPES)
DISPLAY_JPEG_QUALITY = 85
DISPLAY_MAX_SIDE = 1700  # pixels; enough to read a letter page on screen


def capped_dpi(path: Path, number: int, dpi: int, max_pixels: int) -> int:
    """The DPI to render page `number` at: `dpi`, lowered for pages so large that the image
    would exceed `max_pixels` (a poster-sized scan would otherwise take gigabytes)."""
    with pikepdf.open(path) as pdf:
        x0, y0, x1, y1 = (float(v) for v in pdf.pages[number - 1].mediabox)
    area_square_inches = abs(x1 - x0) * abs(y1 - y0) / (72 * 72)
    if area_square_inches * dpi * dpi <= max_pixels:
        return dpi
    return max(36, math.floor(math.sqrt(max_pixels / area_square_inches)))


def render_pdf_page(path: Path, number: int, workdir: Path, *, dpi: int, for_ocr: bool, timeout: int) -> Path:
    """Render one page: grayscale PGM for OCR, or a JPEG to display."""
    options = (
        {"grayscale": True, "fmt": "ppm"}
        if for_ocr
        else {
            "fmt": "jpeg",
            "jpegopt": {"quality": DISPLAY_JPEG_QUALITY, "optimize": False, "progressive": False},
        }
    )
    try:
        paths = convert_from_path(
            str(path),
            dpi=dpi,
            first_page=number,
            last_page=number,
            output_folder=str(workdir),
            output_file=("ocr" if for_ocr else "display"),
            single_file=True,
            paths_only=True,
            timeout=timeout,
            **options,
        )
    except PDFPopplerTimeoutError as exc:
        raise TransientError(f"Rendering page {number} took longer than {timeout} s.") from exc
    if not paths:
        raise PermanentError(f"Page {number} of this PDF could not be rendered.")
    return Path(paths[0])


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
