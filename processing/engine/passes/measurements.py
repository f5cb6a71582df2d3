"""Pass 2 for lab results, often printed as tables of numbers (vital signs: `vitals.py`).

A table is read by its columns: the header row's cells give each column's role and x extent,
and a value is taken from the cell under the 'Result' (or 'Pulse') header, found by the OCR
word boxes. A row printed as running text ('Hemoglobin A1c 7.2 % (4.0-5.6) H') is read in
order: value, unit, range, flag.
"""

import re
from dataclasses import dataclass
from functools import cache

from processing.engine.passes import context, dates, vocabulary
from processing.engine.passes.entities import Mention
from processing.engine.passes.layout import Cell, Line
from processing.engine.passes.records import Lab
from processing.engine.passes.rows import Segment, clean_number, mention_fields, number

COMPARATOR = r"(<=|>=|<|>|≤|≥)"
VALUE_RE = re.compile(rf"(?<![\w/\-])(?<!\d\.){COMPARATOR}?\s*(-?(?:\d+(?:,\d{{3}})*(?:\.\d+)?|\.\d+))(?![\d/:])")
QUALITATIVE = re.compile(
    r"\b(not detected|detected|negative|positive|reactive|nonreactive|non-reactive|pending|borderline|"
    r"trace|amber|yellow|straw|clear|cloudy|unable to calculate)\b",
    re.I,
)
UNIT_RE = re.compile(
    r"^[\s:]*(%|[xX]?10[\^E*+]?\s?\d+/[a-zA-Z]+|[a-zA-Zµ]{1,6}(?:\[[A-Za-z]+\])?(?:/[a-zA-Z0-9.\[\]\^]{1,8}){0,2}|/[a-zA-Z]{1,5})"
    r"(?![A-Za-z0-9])"
)
# A cell's wrapped line sits closer under it than the next row does: within half a line's
# height (rows of a printed table are a line and a half or more apart)
WRAP_GAP = 0.5
# What OCR leaves at the end of a unit from a cell's rule or a speck: '10*9/L_', '10*9/L|'
UNIT_NOISE = re.compile(r"[_|!\\.]+$")  # and the full stop of a sentence: 'Unit: mg/dL.'
# 'Code: 12951-0; ... Value: 78; Unit: mg/dL': a result written as labelled fields is read from its value's label
VALUE_LABEL = re.compile(r"\b(?:value|result)s?(?:\s*/\s*units?)?\s*:", re.IGNORECASE)
# A reference range written in words beside its result: 'Normal white blood cell count range
# 3.5-10.5 billion cells/L', 'Normal range for women is 12.0 to 15.5', 'Reference range: 150-400'.
# It belongs to the result on its row: never a result of its own, its test name no mention.
RANGE_PHRASE = re.compile(
    r"\b(?:normal|reference|ref\.?|expected)\b[A-Za-z0-9 ,()\[\]/#'-]{0,80}?\b(?:range|interval|values?)\b"
    r"[A-Za-z ,]{0,30}?(?:\b(?:is|are)\b|:)?\s*"
    r"(?:(-?\d+(?:\.\d+)?)\s*(?:-|\u2013|to)\s*(-?\d+(?:\.\d+)?)|(<=|>=|<|>|≤|≥)\s*(\d+(?:\.\d+)?))"
    r"(?:\s+([^\s,;()]{1,12}(?:\s(?:cells|units)/[A-Za-z]{1,4})?))?",
    re.IGNORECASE,
)
RANGE_RE = re.compile(
    rf"\(?\s*(?:(-?\d+(?:\.\d+)?)\s*(?:-|\u2013|to)\s*(-?\d+(?:\.\d+)?)|{COMPARATOR}\s*(\d+(?:\.\d+)?))\s*\)?"
)
FLAGS = {
    "h": "H", "hh": "H", "high": "H", "above": "H", "l": "L", "ll": "L", "low": "L", "below": "L",
    "a": "A", "aa": "A", "abnormal": "A", "abn": "A", "critical": "A", "n": "N", "normal": "N",
}  # fmt: skip
NOT_UNITS = {"h", "l", "hh", "ll", "a", "n", "high", "low", "normal", "abnormal", "at", "on", "range", "ref", "flag"}
COLUMN_ROLES = {
    "value": ("result", "results", "value", "value / unit", "actual result", "reading", "value/unit"),
    "unit": ("unit", "units"),
    "range": ("reference range", "range", "ref range", "normal range", "reference", "reference interval"),
    "flag": ("flag", "interpretation", "abnormal flag", "abn"),
    "date": ("date", "time taken", "date/time", "collected", "collection date"),
}


@cache
def _role_names() -> dict[str, str]:
    return {vocabulary.norm(name): role for role, names in COLUMN_ROLES.items() for name in names}


def _column_roles(line: Line) -> dict[str, Cell]:
    roles: dict[str, Cell] = {}
    names = _role_names()
    for cell in line.cells:
        # a header cell that wraps keeps its first line's word: 'Value /' over 'Unit'
        role = names.get(vocabulary.norm(cell.text)) or names.get(vocabulary.norm(cell.text.rstrip(" /&:-")))
        if role is not None and role not in roles:
            roles[role] = cell
    return roles


def _cell_under(line: Line, header: Cell) -> Cell | None:
    """The cell of `line` whose horizontal extent overlaps the header cell's the most."""
    best, overlap = None, 0.0
    for cell in line.cells:
        shared = min(cell.x1, header.x1 + 40) - max(cell.x0, header.x0 - 40)
        if shared > overlap:
            best, overlap = cell, shared
    return best


@dataclass
class _Reading:
    """What a results row, or one of its cells, prints after the test name."""

    value: str | None = None
    value_num: float | None = None
    comparator: str | None = None
    unit: str | None = None
    reference_range: str | None = None
    flag: str | None = None

    def take_read_fields(self, cell: "_Reading") -> None:
        """Each field the cell read replaces this reading's."""
        self.value = cell.value if cell.value is not None else self.value
        self.value_num = cell.value_num if cell.value_num is not None else self.value_num
        self.comparator = cell.comparator if cell.comparator is not None else self.comparator
        self.unit = cell.unit if cell.unit is not None else self.unit
        self.reference_range = cell.reference_range if cell.reference_range is not None else self.reference_range
        self.flag = cell.flag if cell.flag is not None else self.flag


@dataclass(frozen=True)
class LabRead:
    """A lab result, and whether its value cell wrapped onto the line below, which was read with
    it: the table reader then skips that line."""

    record: Lab
    took_next_line: bool


def lab(mention: Mention, header: Line | None, panel_date: str | None, below: Line | None = None) -> LabRead:
    """A lab result read from its row; `below` is the next line, read with the row when the
    row's value cell wrapped onto it ('Borderline, equal to' over '1:80', '152' over 'THOUS/MCL')."""
    line = mention.line
    segment = Segment(line, mention.words[-1] + 1)
    text = _mask_dates(segment.text)
    labelled = VALUE_LABEL.search(text)
    if labelled:  # what comes before the label (a code, a description) is no value
        text = " " * labelled.end() + text[labelled.end() :]
    fields = _read_value(text)
    roles = _column_roles(header) if header is not None else {}
    wrapped = below if below is not None and _wrapped(line, below, roles.get("value")) else None
    for role in ("value", "unit", "range", "flag"):
        cell = _cell_under(line, roles[role]) if role in roles else None
        if cell is None or cell.words[0] <= mention.words[-1]:
            continue
        cell_text = cell.text
        more = _cell_under(wrapped, roles[role]) if wrapped is not None else None
        if more is not None and role in ("value", "range"):
            cell_text = f"{cell_text} {more.text}"
        from_cell = _read_value(_mask_dates(cell_text)) if role == "value" else _read_value("0 " + cell_text)
        if role == "value" and from_cell.value is not None:
            fields.take_read_fields(from_cell)
            if from_cell.value_num is None and _a_phrase(cell_text):
                fields.value = re.sub(r"\s+", " ", cell_text).strip(" ,;")
        elif role == "unit" and from_cell.unit:
            fields.unit = from_cell.unit
        elif role == "range" and from_cell.reference_range:
            fields.reference_range = from_cell.reference_range
        elif role == "flag":
            flag = FLAGS.get(cell_text.split()[0].lower()) if cell_text.split() else None
            fields.flag = flag or fields.flag
    if fields.flag is None and fields.value_num is not None:
        fields.flag = _flag_from_range(fields.value_num, fields.reference_range)
    found = dates.find_dates(line.text)
    made: Lab = {
        "test": mention.text,
        "test_normalised": mention.canonical,
        "loinc": mention.code or None,
        "value": fields.value,
        "value_num": clean_number(fields.value_num),
        "comparator": fields.comparator,
        "unit": fields.unit,
        "reference_range": fields.reference_range,
        "flag": fields.flag,
        "date": found[0].iso if found else panel_date,
        **mention_fields(mention, segment.words),
    }
    return LabRead(made, took_next_line=wrapped is not None)


def _wrapped(line: Line, below: Line, value_header: Cell | None) -> bool:
    """Whether `below` is the rest of row `line`'s value cell: printed just under it (much closer
    than table rows are to each other), and the cell is unfinished: a phrase that stops on 'to'
    or a comma, or a number whose unit is the only word below it."""
    if value_header is None or below.page != line.page or not line.boxes or None in (line.boxes[0], below.boxes[0]):
        return False
    if not 0 <= below.y0 - line.y1 < WRAP_GAP * (line.y1 - line.y0):
        return False
    cell, more = _cell_under(line, value_header), _cell_under(below, value_header)
    if cell is None or more is None:
        return False
    if re.search(r"(\b(to|than|of|and|or|with)|[,:])$", cell.text.strip()):
        return True
    unit = UNIT_RE.match(_unit_slips(more.text))
    only_unit = unit is not None and unit.end() == len(_unit_slips(more.text).rstrip())
    # nothing below starts a row: other columns may wrap too (a range or a comment in words)
    no_new_row = below.cells[0].x0 >= value_header.x0 - 40
    return only_unit and no_new_row and _read_value(cell.text).unit is None


def _a_phrase(text: str) -> bool:
    """A result printed as words ('Borderline, equal to 1:80'): no flag, no range among them."""
    words = re.findall(r"[A-Za-z]+", text)
    return len(words) > 1 and not any(w.lower() in FLAGS for w in words) and not RANGE_RE.search(text)


def lab_from_row(line: Line, position: int, header: Line, panel_date: str | None) -> Lab | None:
    """A row of a results table whose test is not in our lab list ('AV Orifice Area US 1.5 cm2'):
    the first cell names the test when the row holds a reading with a unit, range or flag, or
    when its value cell is a report in words (imaging: 'Chest X-Ray 2 Views | The lungs are...')."""
    if len(line.cells) < 2:
        return None
    first = line.cells[0]
    if not re.search(r"[A-Za-z]{2}", first.text) or dates.find_dates(first.text) or re.search(r"\d", first.text[:1]):
        return None
    rest = " ".join(cell.text for cell in line.cells[1:])
    fields = _read_value(_mask_dates(rest))
    reading = fields.value is not None and bool(fields.unit or fields.reference_range or fields.flag)
    roles = _column_roles(header)
    cell = _cell_under(line, roles["value"]) if "value" in roles else None
    report = cell is not None and cell is not first and re.match(r"[A-Z][a-z]+(\s+[A-Za-z,.]+){3,}", cell.text)
    if not reading and not report:
        return None
    tokens = [k for k, token in enumerate(line.tokens) if token.word in first.words]
    mention = Mention(
        "lab", first.text, "", line, position, (tokens[0], tokens[-1] + 1), context.Context(section="labs")
    )
    made = lab(mention, header, panel_date).record
    if not reading and cell is not None:  # the words are the result: no number, unit or range
        made.update(
            {
                "value": cell.text,
                "value_num": None,
                "comparator": None,
                "unit": None,
                "reference_range": None,
                "flag": None,
            }
        )
    return made


# A unit's slash read as a letter: 'mgidl', 'ngiml', 'mmollL' ('/' taken for 'i', 'l', '1' or '|')
SLASH_SLIP = re.compile(r"\b(mg|ng|pg|ug|µg|g|mmol|umol|nmol|mol|meq|iu|u)[il1|](dl|ml|l|ul|kg|min|h)\b", re.IGNORECASE)


def _unit_slips(text: str) -> str:
    """OCR slips in units, fixed in place (same length): a closing bracket read 'J' ('m[IUJ/L'),
    a slash read as a letter ('mgidl', 'ngiml')."""
    text = re.sub(r"(\[[A-Za-z]{1,4}?)[J|1l](?=/)", r"\1]", text)
    return SLASH_SLIP.sub(lambda m: f"{m.group(1)}/{m.group(2)}", text)


def _mask_dates(text: str) -> str:
    for found in dates.find_dates(text):
        text = text[: found.start] + " " * (found.end - found.start) + text[found.end :]
    return re.sub(r"\b\d{1,2}:\d{2}\s*(?:[ap]m?)?\b", lambda m: " " * len(m.group()), text, flags=re.I)


def range_phrase_words(line: Line) -> set[int]:
    """The words of `line` that a reference range in words takes: no lab is named among them."""
    starts, offset = [], 0
    for word in line.words:
        starts.append(offset)
        offset += len(word) + 1
    text = " ".join(line.words)
    taken: set[int] = set()
    for match in RANGE_PHRASE.finditer(text):
        taken |= {i for i, start in enumerate(starts) if match.start() <= start < match.end()}
    return taken


def _range_in_words(text: str) -> tuple[str, str | None, str | None]:
    """`text` with a range in words blanked out, the range ('3.5-10.5', '<150') and its unit."""
    match = RANGE_PHRASE.search(text)
    if match is None:
        return text, None, None
    if match.group(1) is not None:
        printed = f"{match.group(1)}-{match.group(2)}"
    else:
        printed = f"{match.group(3)}{match.group(4)}"
    unit = UNIT_RE.match(_unit_slips(" " + match.group(5))) if match.group(5) else None
    unit_text = UNIT_NOISE.sub("", unit.group(1)) if unit and unit.group(1).lower() not in NOT_UNITS else None
    blanked = text[: match.start()] + " " * (match.end() - match.start()) + text[match.end() :]
    return blanked, printed, unit_text


def _read_value(text: str) -> _Reading:
    fields = _Reading()
    text, worded_range, worded_unit = _range_in_words(text)
    # A range printed right after the test name: 'BUN [4-18 mg/dL] 8 mg/dL', 'WBC (4.3-10.8) 6.7'
    leading = re.match(r"^[\s\-:,]*(?:[A-Za-z]+,?\s+){0,2}[\[(]([^\])]*\d[^\])]*)[\])]", text)
    range_unit = None
    if leading:
        text = " " * leading.end() + text[leading.end() :]
        inside = RANGE_RE.search(leading.group(1))
        if inside:
            fields.reference_range = _range_text(inside)
            unit = UNIT_RE.match(leading.group(1)[inside.end() :])
            range_unit = unit.group(1) if unit and unit.group(1).lower() not in NOT_UNITS else None
    qualitative = QUALITATIVE.search(text)
    value = VALUE_RE.search(text)
    if qualitative and (value is None or qualitative.start() < value.start()):
        fields.value = qualitative.group(1)
        after = qualitative.end()
    elif value:
        digits = value.group(2)
        if re.fullmatch(r"0\d{1,2}", digits):
            digits = "." + digits  # no one prints '01': OCR lost the point of '.01'
        fields.comparator = value.group(1)
        fields.value_num = number(digits)
        fields.value = (value.group(1) or "") + digits
        after = value.end()
        unit = UNIT_RE.match(_unit_slips(text[after:]))
        if unit and unit.group(1).lower() not in NOT_UNITS:
            fields.unit = UNIT_NOISE.sub("", unit.group(1).replace(" ", ""))  # 'x10E 3/uL': OCR split the unit
            after += unit.end()
        else:
            # 'WBC (4.3-10.8 10+3/ul) 6.7', 'Na 140 ... Normal range is 135 to 145 mmol/L': the
            # unit printed with the range
            fields.unit = range_unit or worded_unit
    else:
        fields.reference_range = worded_range
        return fields
    rest = text[after:]
    found_range = RANGE_RE.search(rest)
    if worded_range and not fields.reference_range:
        fields.reference_range = worded_range
    if found_range and not fields.reference_range:
        fields.reference_range = _range_text(found_range)
    for word in re.findall(r"[A-Za-z]+", rest):
        if word.lower() in FLAGS and (word.isupper() or len(word) > 1):
            fields.flag = FLAGS[word.lower()]
            break
    return fields


def _range_text(match: re.Match[str]) -> str:
    if match.group(1) is not None:
        return f"{match.group(1)}-{match.group(2)}"
    return f"{match.group(3)}{match.group(4)}"


def _flag_from_range(value: float, printed: str | None) -> str | None:
    if not printed:
        return None  # no range printed: we do not judge a value against our own table
    low = high = None
    bounds = re.match(r"(-?\d+(?:\.\d+)?)-(-?\d+(?:\.\d+)?)$", printed)
    if bounds:
        low, high = float(bounds.group(1)), float(bounds.group(2))
    elif printed.startswith("<"):
        high = float(printed.lstrip("<="))
    elif printed.startswith(">"):
        low = float(printed.lstrip(">="))
    if high is not None and value > high:
        return "H"
    if low is not None and value < low:
        return "L"
    return "N"


def lab_header(line: Line) -> bool:
    return len(line.cells) >= 2 and "value" in _column_roles(line)
