"""Dates as printed in records, normalised to ISO 8601.

An all-numeric date whose first two parts could each be the day or the month (03/04/2015)
follows the order `run_passes` is given ("MDY" by default, "DMY" for European
records) and is marked ambiguous; 13/04/2015 is not ambiguous whatever the order.
"""

import re
from contextvars import ContextVar
from dataclasses import dataclass

# run_passes(date_order=...) sets this for the duration of one call, so the extractors deep
# down need not pass the order around.
ORDER: ContextVar[str | None] = ContextVar("date_order", default=None)

MONTHS = {
    m: i + 1
    for i, names in enumerate(
        [
            ("jan", "january"),
            ("feb", "february"),
            ("mar", "march"),
            ("apr", "april"),
            ("may",),
            ("jun", "june"),
            ("jul", "july"),
            ("aug", "august"),
            ("sep", "sept", "september"),
            ("oct", "october"),
            ("nov", "november"),
            ("dec", "december"),
        ]
    )
    for m in names
}
_MONTH = (
    r"(jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|sept?(?:ember)?|"
    r"oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)\.?"
)
_YEAR = r"((?:19|20|25)\d\d)"  # 25xx: the shifted fake dates of de-identified samples

PATTERNS = [
    ("iso", re.compile(rf"\b{_YEAR}-(\d{{1,2}})-(\d{{1,2}})\b")),
    # one separator throughout, and no decimal after: '4.3-10.8' is a range, not 3 April 2010
    ("numeric", re.compile(r"(?<![\d.])(\d{1,2})([/.\-])(\d{1,2})\2(\d{4}|\d{2})\b(?!\.\d)")),
    ("mon_d_y", re.compile(rf"\b{_MONTH}[\s\-]+(\d{{1,2}})(?:st|nd|rd|th)?,?[\s\-]+{_YEAR}\b", re.I)),
    ("d_mon_y", re.compile(rf"\b(\d{{1,2}})[\s\-]+{_MONTH},?[\s\-]+{_YEAR}\b", re.I)),
    ("mon_y", re.compile(rf"\b{_MONTH}\s+{_YEAR}\b", re.I)),
    ("compact", re.compile(r"\b((?:19|20)\d\d)(0[1-9]|1[0-2])([0-2]\d|3[01])\b")),
    ("numeric_no_year", re.compile(r"(?<![\d/.])(\d{1,2})/(\d{1,2})(?![\d/])")),
]


@dataclass(frozen=True)
class FoundDate:
    iso: str  # YYYY-MM-DD, YYYY-MM, or --MM-DD when the year is not printed
    ambiguous: bool
    start: int
    end: int
    text: str


def configured_order() -> str:
    order = (ORDER.get() or "MDY").upper()
    return order if order in ("MDY", "DMY") else "MDY"


def find_dates(text: str, order: str | None = None) -> list[FoundDate]:
    """Every date in `text`, left to right, without overlaps."""
    order = order or configured_order()
    found: list[FoundDate] = []
    taken: list[tuple[int, int]] = []
    for kind, pattern in PATTERNS:
        for match in pattern.finditer(text):
            if any(match.start() < e and s < match.end() for s, e in taken):
                continue
            parsed = _parse(kind, match.groups(), order)
            if parsed is None:
                continue
            iso, ambiguous = parsed
            found.append(FoundDate(iso, ambiguous, match.start(), match.end(), match.group()))
            taken.append((match.start(), match.end()))
    return sorted(found, key=lambda d: d.start)


def parse_date(text: str, order: str | None = None) -> FoundDate | None:
    dates = find_dates(text, order)
    return dates[0] if dates else None


def _valid(year: int | None, month: int, day: int) -> bool:
    return 1 <= month <= 12 and 1 <= day <= 31 and (year is None or 1900 <= year <= 2600)


def _parse(kind: str, groups: tuple[str, ...], order: str) -> tuple[str, bool] | None:
    year: int | None  # None: a date printed without its year
    if kind in ("iso", "compact"):
        year, month, day = int(groups[0]), int(groups[1]), int(groups[2])
        return (f"{year:04d}-{month:02d}-{day:02d}", False) if _valid(year, month, day) else None
    if kind == "mon_d_y":
        month, day, year = MONTHS[groups[0].lower().rstrip(".")], int(groups[1]), int(groups[2])
        return (f"{year:04d}-{month:02d}-{day:02d}", False) if _valid(year, month, day) else None
    if kind == "d_mon_y":
        day, month, year = int(groups[0]), MONTHS[groups[1].lower().rstrip(".")], int(groups[2])
        return (f"{year:04d}-{month:02d}-{day:02d}", False) if _valid(year, month, day) else None
    if kind == "mon_y":
        return f"{int(groups[1]):04d}-{MONTHS[groups[0].lower().rstrip('.')]:02d}", False
    if kind == "numeric":
        groups = (groups[0], groups[2], groups[3])
    first, second = int(groups[0]), int(groups[1])
    year = None
    if kind == "numeric":
        year = int(groups[2])
        if year < 100:
            year += 2000 if year < 50 else 1900
    month, day = (first, second) if order == "MDY" else (second, first)
    ambiguous = first <= 12 and second <= 12 and first != second
    if not _valid(year, month, day):
        month, day = day, month  # 13/04 read as 13 April whatever the order
        ambiguous = False
        if not _valid(year, month, day):
            return None
    if year is None:
        return f"--{month:02d}-{day:02d}", ambiguous
    return f"{year:04d}-{month:02d}-{day:02d}", ambiguous
