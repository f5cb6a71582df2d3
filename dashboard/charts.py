"""Chart geometry for inline SVG: numbers only, drawn by templates/dashboard/_chart_*.html.

No chart library and no CDN: the server turns series into coordinates, and the template
writes <polyline> and <rect> elements with them (autoescaped like any other value).
"""

from datetime import datetime, timedelta
from typing import TypedDict

# static/dashboard/ops.css repeats these for the legends (.swatch-<name>).
COLOURS = {"pages": "#1f6feb", "documents": "#137333", "failures": "#b3261e", "documents_failed": "#e37400"}
LABELS = {
    "pages": "pages / min",
    "documents": "documents / min",
    "failures": "failed attempts / min",
    "documents_failed": "failed documents / min",
}
# Three charts side by side in the dashboard's 1200 px column.
WIDTH, HEIGHT, LEFT, BOTTOM, TOP = 350, 170, 36, 22, 10


class Line(TypedDict):
    name: str
    label: str
    colour: str
    points: str  # "x,y x,y …", for <polyline points>
    last: float
    total: int  # events over the whole chart


class AxisLabel(TypedDict):
    x: float
    text: str


class AxisTick(TypedDict):
    y: float
    text: str


class LineChart(TypedDict):
    title: str
    width: int
    height: int
    left: int
    right: int
    bottom: int
    lines: list[Line]
    x_labels: list[AxisLabel]
    y_ticks: list[AxisTick]
    label_y: int


class Bar(TypedDict):
    x: float
    w: float
    y: float
    h: float
    cx: float
    label: str
    count: int
    count_y: float


class BarChart(TypedDict):
    title: str
    width: int
    height: int
    bars: list[Bar]
    colour: str
    label_y: int
    total: int


def _nice_max(value: float) -> float:
    """A round top for the y axis (1, 2 or 5 times a power of ten) so the ticks read well."""
    if value <= 0:
        return 1.0
    magnitude = 10 ** (len(str(int(value))) - 1) if value >= 1 else 0.1
    for factor in (1, 2, 5, 10):
        if value <= factor * magnitude:
            return float(factor * magnitude)
    return float(10 * magnitude)


def line_chart(series: dict[str, list[float]], first_bucket: str, step_seconds: int, title: str) -> LineChart:
    """Lines of several series sharing an x axis of equal buckets starting at `first_bucket`."""
    length = max((len(values) for values in series.values()), default=0)
    top = _nice_max(max((max(values, default=0) for values in series.values()), default=0))
    plot_w, plot_h = WIDTH - LEFT - 8, HEIGHT - BOTTOM - TOP

    def x(i: int) -> float:
        return round(LEFT + (plot_w * i / max(length - 1, 1)), 1)

    def y(v: float) -> float:
        return round(TOP + plot_h - plot_h * v / top, 1)

    lines: list[Line] = [
        {
            "name": name,
            "label": LABELS.get(name, name),
            "colour": COLOURS.get(name, "#555"),
            "points": " ".join(f"{x(i)},{y(v)}" for i, v in enumerate(values)),
            "last": values[-1] if values else 0,
            "total": round(sum(values) * step_seconds / 60),
        }
        for name, values in series.items()
    ]
    start = datetime.fromisoformat(first_bucket)
    # A week of hours is labelled by day; an hour or a day by the time of day.
    fmt, every = ("%a", 24) if step_seconds >= 3600 and length > 24 else ("%H:%M", max(length // 6, 1))
    x_labels: list[AxisLabel] = [
        {"x": x(i), "text": (start + timedelta(seconds=step_seconds * i)).strftime(fmt)}
        for i in range(0, length, every)
    ]
    y_ticks: list[AxisTick] = [{"y": y(top * f), "text": f"{top * f:g}"} for f in (0, 0.5, 1)]
    return {
        "title": title,
        "width": WIDTH,
        "height": HEIGHT,
        "left": LEFT,
        "right": WIDTH - 8,
        "bottom": HEIGHT - BOTTOM,
        "lines": lines,
        "x_labels": x_labels,
        "y_ticks": y_ticks,
        "label_y": HEIGHT - 6,
    }


def bar_chart(labels: list[str], counts: list[int], title: str, colour: str = "#1f6feb") -> BarChart:
    """Vertical bars, one per bucket, with the count above each."""
    width, height, bottom, top_pad = 350, 150, 34, 16
    top = max(counts, default=0) or 1
    slot = (width - 10) / max(len(counts), 1)
    plot_h = height - bottom - top_pad
    bars: list[Bar] = []
    for i, (label, count) in enumerate(zip(labels, counts, strict=True)):
        h = round(plot_h * count / top, 1)
        bars.append(
            {
                "x": round(5 + i * slot + slot * 0.1, 1),
                "w": round(slot * 0.8, 1),
                "y": round(height - bottom - h, 1),
                "h": h,
                "cx": round(5 + i * slot + slot / 2, 1),
                "label": label,
                "count": count,
                "count_y": round(height - bottom - h - 3, 1),
            }
        )
    return {
        "title": title,
        "width": width,
        "height": height,
        "bars": bars,
        "colour": colour,
        "label_y": height - bottom + 14,
        "total": sum(counts),
    }
