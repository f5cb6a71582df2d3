"""One Tesseract run per page, giving both the text and the words with boxes and confidences."""

import signal
import subprocess
from pathlib import Path
from typing import Any

from processing.engine import sandbox
from processing.engine.errors import PermanentError, TransientError
from processing.engine.hyphens import join_hyphenated
from processing.engine.results import Word

# The columns of Tesseract's TSV output, one row per page, block, paragraph, line and word.
_COLUMNS: tuple[str, ...] = ("level", "page_num", "block_num", "par_num", "line_num", "word_num")
_COLUMNS += ("left", "top", "width", "height", "conf", "text")


def ocr_page(
    image_path: Path, *, languages: str, dpi: int, timeout: int, limits: sandbox.ToolLimits = sandbox.DEFAULT_LIMITS
) -> tuple[str, list[Word], float | None]:
    """OCR an image file in the box (engine.sandbox); return its text, its words and their
    mean confidence (0-100). One run gives both, as TSV on its standard output."""
    command = ["tesseract", str(image_path), "stdout", "-l", languages, "--psm", "3", "--dpi", str(dpi), "tsv"]
    try:
        tool = sandbox.run(command, limits, timeout=timeout, output_bytes=limits.text_mb_per_page * sandbox.MB)
    except subprocess.TimeoutExpired as exc:
        raise TransientError(f"Reading the page took longer than {timeout} s.") from exc
    except FileNotFoundError as exc:
        raise TransientError("The OCR engine (Tesseract) is not installed on this worker.") from exc
    if tool.returncode == -signal.SIGKILL:  # the kernel's OOM killer, most often
        raise TransientError("The OCR engine was stopped while reading the page (out of memory?).")
    if tool.returncode != 0:  # it could not read the image, or ran out of its memory limit
        raise PermanentError("This page could not be read by the OCR engine.")
    return _assemble(_columns(tool.stdout.decode("utf-8", errors="replace")))


def _columns(tsv: str) -> dict[str, list[Any]]:
    """Tesseract's TSV as one list per column (its header row skipped)."""
    data: dict[str, list[Any]] = {name: [] for name in _COLUMNS}
    for row in tsv.split("\n")[1:]:
        fields = row.split("\t", len(_COLUMNS) - 1)
        if len(fields) != len(_COLUMNS):
            continue
        for name, value in zip(_COLUMNS, fields, strict=True):
            data[name].append(value)
    return data


def _assemble(data: dict[str, list[Any]]) -> tuple[str, list[Word], float | None]:
    """Text, words and mean confidence from Tesseract's TSV table, column by column;
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
