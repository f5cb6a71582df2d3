"""Cost of the extraction passes: start-up, a 50-page document on one core, and RSS.

    .venv/bin/python benchmarks/passes_cost.py [--pages 50] [--repeat 3] [--worker]

The document is the evaluation corpus's narratives (tests/data/medcorpus) laid out as printed
pages with word boxes, as the pipeline stores them: ~60 lines and ~300-400 words a page,
tables as columns. Goal (issue 6): under 5 s for 50 pages after start-up, under 600 MB RSS.
"""

import argparse
import os
import resource
import sys
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

LINES_PER_PAGE = 60
CHAR_WIDTH, LINE_HEIGHT, LEFT, TOP = 21, 50, 200, 150  # 300 dpi pixels, 10-point type


def rss_mb() -> float:
    with open("/proc/self/statm") as handle:
        return int(handle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 1e6


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e3


def printed_rows() -> list[list[tuple[int, str]]]:
    """Every narrative of the corpus as rows of (x, cell text), tables in columns."""
    from evaluation.corpus import load_documents

    rows: list[list[tuple[int, str]]] = []
    for document in load_documents(ROOT / "tests" / "data" / "medcorpus"):
        rows.append([(LEFT, document.title)])
        for block in document.blocks:
            if block.kind == "table":
                for row in [block.header, *block.rows]:
                    rows.append([(LEFT + 480 * i, cell[:40]) for i, cell in enumerate(row[:5]) if cell])
            else:
                text = block.text
                while text:
                    rows.append([(LEFT, text[:100])])
                    text = text[100:]
    return rows


def page_of(rows: list[list[tuple[int, str]]], number: int) -> dict[str, Any]:
    words, lines = [], []
    for r, row in enumerate(rows):
        y = TOP + r * LINE_HEIGHT
        for x0, cell in row:
            x = x0
            for word in cell.split():
                words.append({"text": word, "box": [x, y, x + CHAR_WIDTH * len(word), y + 42], "confidence": 91.0})
                x += CHAR_WIDTH * (len(word) + 1)
        lines.append("  ".join(cell for _, cell in row))
    lines.append(f"Page {number}")
    return {"number": number, "text": "\n".join(lines), "words": words, "width": 2550, "height": 3300}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=50)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--worker", action="store_true", help="load Django and the actors first, as a worker does")
    options = parser.parse_args()
    if options.worker:
        import django

        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "exora.settings")
        django.setup()
        import processing.actors  # noqa: F401 - what a worker process has loaded
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})  # one core, as a worker thread has
    base = rss_mb()
    clock = time.perf_counter()
    from processing.engine.passes import run_passes, vocabulary

    vocabulary.warm()
    startup = time.perf_counter() - clock
    after_startup = rss_mb()

    rows = printed_rows()
    pages: list[dict[str, Any]] = []
    while len(pages) < options.pages:
        start = (len(pages) * LINES_PER_PAGE) % max(len(rows) - LINES_PER_PAGE, 1)
        pages.append(page_of(rows[start : start + LINES_PER_PAGE], len(pages) + 1))
    words = sum(len(p["words"]) for p in pages)

    timings = []
    for _ in range(options.repeat):
        clock = time.perf_counter()
        result = run_passes(pages)
        timings.append(time.perf_counter() - clock)
    records: Mapping[str, Any] = result["records"]
    found = {kind: len(items) for kind, items in records.items()}
    print(f"python {sys.version.split()[0]}, one core (affinity {sorted(os.sched_getaffinity(0))})")
    print(f"{'worker (Django and actors loaded)' if options.worker else 'passes alone'}")
    print(f"start-up: vocabularies loaded in {startup:.2f} s; RSS {base:.0f} MB -> {after_startup:.0f} MB")
    print(f"document: {len(pages)} pages, {words} words ({words / len(pages):.0f} a page)")
    print(
        f"run_passes: best {min(timings):.2f} s, worst {max(timings):.2f} s over {options.repeat} runs "
        f"({min(timings) / len(pages) * 1000:.0f} ms a page); goal < 5 s"
    )
    print(f"RSS after the runs {rss_mb():.0f} MB, peak {peak_mb():.0f} MB; goal < 600 MB")
    print(f"found: {len(result['encounters'])} encounters, {found}")


if __name__ == "__main__":
    main()
