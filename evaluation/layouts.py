"""The same document's narrative laid out as different record systems print it.

* `records`: the printout the evaluation began with: tables as the C-CDA narrative has them.
* `dated`: vital signs in a table with one column per date (a header row of dates, then one
  row per measurement), and lab reference ranges written in words beside the result ("Normal
  white blood cell count range 3.5-10.5", "Normal range is 12.0 to 15.5") instead of a column.
* `letter`: a clinic letter: no tables, each row a sentence of labelled values, in another
  font and size, two columns on every other page (`render_letter`).

Only the arrangement changes: every value the narrative prints is printed again, so the
answer key stays the same.
"""

import hashlib
import re

from evaluation.ccda import Block

LAYOUTS = ("records", "dated", "letter")
DATE = re.compile(r"^(\d{1,2}[/-]\d{1,2}[/-]\d{2,4}|\d{4}-\d{2}-\d{2}|[A-Z][a-z]{2,8}\.? \d{1,2},? \d{4})\b")
VITAL_WORDS = re.compile(
    r"\b(height|weight|pulse|heart ?rate|blood ?pressure|bp|temp(erature)?|respiratory|resp|bmi|spo2|o2|"
    r"wt|ht|hr|rr|sys|dia)\b",
    re.IGNORECASE,
)
RANGE_HEADER = re.compile(r"\b(range|reference|normal)\b", re.IGNORECASE)
RESULT_HEADER = re.compile(r"\b(result|value)\b", re.IGNORECASE)
RANGE_PHRASES = (
    "Normal {name} range {range}",
    "Normal range for adults is {low} to {high}",
    "Reference range: {range}",
)


def arrange(blocks: list[Block], layout: str) -> list[Block]:
    """The blocks `layout` prints (the letter is the records' blocks printed by another printer)."""
    if layout != "dated":
        return blocks
    return [_dated(block) for block in blocks]


def _dated(block: Block) -> Block:
    if block.kind != "table" or not block.rows:
        return block
    if _is_vitals_by_row(block):
        return _one_column_per_date(block)
    return _ranges_in_words(block)


def _is_vitals_by_row(block: Block) -> bool:
    """A vitals table printed one row per date: the first column dates, the others vital signs."""
    if len(block.header) < 2 or not all(DATE.match(row[0] or "") for row in block.rows if row):
        return False
    return sum(bool(VITAL_WORDS.search(h)) for h in block.header[1:]) >= 1


def _one_column_per_date(block: Block) -> Block:
    """Rows become columns: a header row of dates, then one row per measurement. A time column
    ('Time', beside 'Date') joins its date, so each cell keeps its own date and time."""
    header = block.header
    time_columns = [i for i, h in enumerate(header) if i and h.strip().lower() == "time"]
    dates = [" ".join([row[0], *(row[i] for i in time_columns if i < len(row))]).strip() for row in block.rows]
    rows = []
    for index, name in enumerate(header):
        if index == 0 or index in time_columns:
            continue
        values = [row[index] if index < len(row) else "" for row in block.rows]
        if any(values):
            rows.append([name, *values])
    return Block("table", header=["Vital Sign", *dates], rows=rows)


def _ranges_in_words(block: Block) -> Block:
    """A results table whose reference range column becomes a phrase beside the result."""
    header = block.header
    ranges = [i for i, h in enumerate(header) if RANGE_HEADER.search(h)]
    results = [i for i, h in enumerate(header) if RESULT_HEADER.search(h)]
    if len(ranges) != 1 or not results or ranges[0] == 0:
        return block
    at = ranges[0]
    rows = []
    for row in block.rows:
        cells = [c for i, c in enumerate(row) if i != at]
        printed = row[at] if at < len(row) else ""
        cells.append(_range_phrase(row[0], printed) if printed.strip() else "")
        rows.append(cells)
    return Block("table", header=[h for i, h in enumerate(header) if i != at] + ["Comment"], rows=rows)


def _range_phrase(name: str, printed: str) -> str:
    """One of a few phrasings, chosen by the test's name so a document reads the same each run."""
    pick = int(hashlib.sha256(name.encode()).hexdigest(), 16) % len(RANGE_PHRASES)
    bounds = re.fullmatch(r"\s*([<>]?\d+(?:\.\d+)?)\s*-\s*(\d+(?:\.\d+)?)\s*(.*)", printed)
    if pick == 1 and not bounds:
        pick = 0
    low, high = (bounds.group(1), f"{bounds.group(2)} {bounds.group(3)}".strip()) if bounds else ("", "")
    return RANGE_PHRASES[pick].format(name=name.strip().lower(), range=printed.strip(), low=low, high=high)


def sentences(block: Block) -> list[str]:
    """A table as a letter writes it: one sentence a row, each value after its column's name."""
    if block.kind != "table":
        return [block.text]
    lines = []
    for row in block.rows:
        cells = [(block.header[i] if i < len(block.header) else "", c.strip()) for i, c in enumerate(row)]
        cells = [(h, c) for h, c in cells if c]
        if not cells:
            continue
        subject = cells[0][1]
        rest = "; ".join(f"{h}: {c}" if h else c for h, c in cells[1:])
        lines.append(f"{subject} - {rest}." if rest else f"{subject}.")
    return lines
