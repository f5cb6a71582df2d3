"""The slant of a scanned page's lines, from its OCR word boxes.

A page scanned a degree or two askew keeps its slant in the word boxes: across a letter page
at 200 DPI, 2 degrees lowers a row's right end by some 60 pixels, more than a table row is
high, so rows rebuilt from box centres mix the cells of neighbouring rows. The passes read
rows along the slant instead (`layout`); the boxes themselves are left as the page shows them.
"""

import statistics
from collections.abc import Sequence

# Below a quarter of a degree, rows group right as they are; above 6 degrees this is not a
# page read askew but rotated text, which the OCR has dealt with.
MIN_SLOPE, MAX_SLOPE = 0.004, 0.1
MIN_RUN_WORDS = 3


def page_slope(words: Sequence[tuple[str, list[int]]]) -> float:
    """dy/dx of the page's text lines (positive: a line falls to the right), or 0.

    OCR gives words in reading order, so neighbours in the list that sit side by side (close,
    and level within half a word's height) are runs of one printed line; each long run's slope
    is fitted by least squares, and the page's is their median, longer runs counting more.
    """
    slopes: list[float] = []
    run: list[tuple[float, float]] = []
    previous: list[int] | None = None
    for _, box in words:
        height = box[3] - box[1]
        centre = ((box[0] + box[2]) / 2, (box[1] + box[3]) / 2)
        if previous is not None and _beside(previous, box, height):
            run.append(centre)
        else:
            slopes += _run_slope(run)
            run = [centre]
        previous = box
    slopes += _run_slope(run)
    if len(slopes) < 3:
        return 0.0
    slope = statistics.median(slopes)
    return slope if MIN_SLOPE <= abs(slope) <= MAX_SLOPE else 0.0


def _beside(left: list[int], right: list[int], height: int) -> bool:
    size = max(height, left[3] - left[1], 1)
    gap = right[0] - left[2]
    level = abs((right[1] + right[3]) / 2 - (left[1] + left[3]) / 2)
    return -size < gap < 3 * size and level < 0.5 * size


def _run_slope(run: list[tuple[float, float]]) -> list[float]:
    """The run's fitted slope, repeated once per word so longer runs weigh more (none if short)."""
    if len(run) < MIN_RUN_WORDS:
        return []
    xs, ys = [x for x, _ in run], [y for _, y in run]
    mean_x, mean_y = sum(xs) / len(xs), sum(ys) / len(ys)
    spread = sum((x - mean_x) ** 2 for x in xs)
    if spread == 0:
        return []
    slope = sum((x - mean_x) * (y - mean_y) for x, y in zip(xs, ys, strict=True)) / spread
    return [slope] * len(run)
