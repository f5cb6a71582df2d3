"""One Tesseract run per page, giving both the text and the words with boxes and confidences."""

from pathlib import Path
from typing import Any

import pytesseract
from pytesseract import Output, TesseractError

from processing.engine.errors import PermanentError, TransientError
from processing.engine.hyphens import join_hyphenated
from processing.engine.results import Word


def ocr_page(image_path: Path, *, languages: str, dpi: int, timeout: int) -> tuple[str, list[Word], float | None]:
    """OCR an image file; return its text, its words and their mean confidence (0-100).

    A file path, not a PIL image, goes to pytesseract: given an image it would first
    re-encode it as PNG, which costs more than a second per page.
    """
    try:
        data = pytesseract.image_to_data(
            str(image_path),
            lang=languages,
            config=f"--psm 3 --dpi {dpi}",
            output_type=Output.DICT,
            timeout=timeout,
        )
    except TesseractError as exc:  # before RuntimeError: TesseractError is a RuntimeError
        if isinstance(exc.status, int) and exc.status < 0:  # killed by a signal: out of memory, most often
            raise TransientError("The OCR engine was stopped while reading the page (out of memory?).") from exc
        raise PermanentError("This page could not be read by the OCR engine.") from exc
    except RuntimeError as exc:  # pytesseract's way of saying it killed a run that took too long
        raise TransientError(f"Reading the page took longer than {timeout} s.") from exc
    return _assemble(data)


def _assemble(data: dict[str, list[Any]]) -> tuple[str, list[Word], float | None]:
    """Text, words and mean confidence from pytesseract's image_to_data table, column by column;
    a word a line end split with a hyphen is one word again (`hyphens.join_hyphenated`), also
    across the paragraph break Tesseract often sees after a shorter, hyphen-ended line."""
    lines: dict[tuple[int, int, int], list[Word]] = {}
    for i, raw_text in enumerate(data["text"]):
        text = (raw_text or "").strip()
        confidence = float(data["conf"][i])
        if not text or confidence < 0:
            continue
        left, top = int(data["left"][i]), int(data["top"][i])
        box = [left, top, left + int(data["width"][i]), top + int(data["height"][i])]
        key = (int(data["block_num"][i]), int(data["par_num"][i]), int(data["line_num"][i]))
        lines.setdefault(key, []).append(Word(text=text, box=box, confidence=round(confidence, 2)))
    keys = sorted(lines)
    blocks: dict[int, list[tuple[int, int, int]]] = {}
    for key in keys:
        blocks.setdefault(key[0], []).append(key)
    for block_keys in blocks.values():
        for key, joined in zip(block_keys, join_hyphenated([lines[k] for k in block_keys]), strict=True):
            lines[key] = joined
    words = [word for key in keys for word in lines[key]]
    mean = round(sum(w.confidence for w in words) / len(words), 2) if words else None
    return _join_lines({key: [w.text for w in lines[key]] for key in keys if lines[key]}), words, mean


def _join_lines(lines: dict[tuple[int, int, int], list[str]]) -> str:
    """Lines joined by newlines, with a blank line between paragraphs."""
    parts: list[str] = []
    previous_paragraph = None
    for (block, paragraph, _line), line_words in sorted(lines.items()):
        if previous_paragraph is not None and (block, paragraph) != previous_paragraph:
            parts.append("")
        parts.append(" ".join(line_words))
        previous_paragraph = (block, paragraph)
    return "\n".join(parts)
