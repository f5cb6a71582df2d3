"""Formatting for the operators' dashboard: durations and sizes people read at a glance."""

from django import template

register = template.Library()


@register.filter
def duration(seconds: float | None) -> str:
    """1.25 -> "1.2 s", 95 -> "1.6 min", 7200 -> "2.0 h"; None -> "-"."""
    if seconds is None:
        return "-"
    seconds = float(seconds)
    if seconds >= 1e8:
        return "never"
    if seconds < 90:
        return f"{seconds:.1f} s"
    if seconds < 5400:
        return f"{seconds / 60:.1f} min"
    return f"{seconds / 3600:.1f} h"


@register.filter
def megabytes(n: int | None) -> str:
    return "-" if not n else f"{n / 1_048_576:.0f} MB"


@register.filter
def short_id(value: str) -> str:
    """The first block of a UUID: enough to tell documents apart on screen."""
    return str(value).split("-")[0]
