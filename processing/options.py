"""The engine's options, from the settings: the one place processing hands settings to the
engine (processing/engine takes them as arguments and knows no Django)."""

from django.conf import settings

from processing.engine.reader import ReadOptions
from processing.engine.sandbox import ToolLimits
from processing.engine.validation import FileLimits


def read_options(ocr_mode: str | None = None) -> ReadOptions:
    """How to read pages; `ocr_mode` is the document's own (None: the configured default)."""
    return ReadOptions(
        ocr_mode=ocr_mode or settings.EXORA_OCR_MODE,
        dpi=settings.EXORA_OCR_DPI,
        display_dpi=settings.EXORA_DISPLAY_DPI,
        languages=settings.EXORA_OCR_LANGUAGES,
        timeout=settings.EXORA_PAGE_TIMEOUT,
        max_render_pixels=settings.EXORA_MAX_RENDER_PIXELS,
        tool_limits=tool_limits(),
    )


def tool_limits() -> ToolLimits:
    return ToolLimits(
        memory_mb=settings.EXORA_TOOL_MEMORY_MB,
        output_mb=settings.EXORA_TOOL_OUTPUT_MB,
        text_mb_per_page=settings.EXORA_PAGE_TEXT_MB,
    )


def file_limits() -> FileLimits:
    return FileLimits(
        max_pages=settings.EXORA_MAX_PAGES,
        max_page_inches=settings.EXORA_MAX_PAGE_INCHES,
        max_image_pixels=settings.EXORA_MAX_IMAGE_PIXELS,
    )
