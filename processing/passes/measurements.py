"""Pass 2 for lab results and vital signs, the two kinds printed as tables of numbers.

A table is read by its columns: the header row's cells give each column's role and x extent,
and a value is taken from the cell under the 'Result' (or 'Pulse') header, found by the OCR
word boxes. A row printed as running text ('Hemoglobin A1c 7.2 % (4.0-5.6) H') is read in
order: value, unit, range, flag.
"""

import re
from functools import cache
from typing import Any

from processing.passes import context, dates, vocabulary
from processing.passes.entities import Mention
from processing.passes.layout import Cell, Line
from processing.passes.rows import Segment, clean_number, number, record

COMPARATOR = r"(<=|>=|<|>|≤|≥)"
VALUE_RE = re.compile(rf"(?<![\w/\-])(?<!\d\.){COMPARATOR}?\s*(-?(?:\d+(?:,\d{{3}})*(?:\.\d+)?|\.\d+))(?![\d/:])")
QUALITATIVE = re.compile(
    r"\b(not detected|detected|negative|positive|reactive|nonreactive|non-reactive|pending|borderline|"
    r"trace|amber|yellow|straw|clear|cloudy|unable to calculate)\b",
    re.I,
)
UNIT_RE = re.compile(
    r"^\s*(%|x?10[\^E*+]?\d+/[a-zA-Z]+|[a-zA-Zµ]{1,6}(?:\[[A-Za-z]+\])?(?:/[a-zA-Z0-9.\[\]\^]{1,8}){0,2}|/[a-zA-Z]{1,5})"
    r"(?![\w])"
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
        role = names.get(vocabulary.norm(cell.text))
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


def lab(mention: Mention, header: Line | None, panel_date: str | None) -> dict[str, Any]:
    line = mention.line
    segment = Segment(line, mention.words[-1] + 1)
    text = _mask_dates(segment.text)
    fields = _read_value(text)
    roles = _column_roles(header) if header is not None else {}
    for role in ("value", "unit", "range", "flag"):
        cell = _cell_under(line, roles[role]) if role in roles else None
        if cell is None or cell.words[0] <= mention.words[-1]:
            continue
        from_cell = _read_value(_mask_dates(cell.text)) if role == "value" else _read_value("0 " + cell.text)
        if role == "value" and from_cell.get("value") is not None:
            fields.update({k: v for k, v in from_cell.items() if v is not None})
        elif role == "unit" and from_cell.get("unit"):
            fields["unit"] = from_cell["unit"]
        elif role == "range" and from_cell.get("reference_range"):
            fields["reference_range"] = from_cell["reference_range"]
        elif role == "flag":
            flag = FLAGS.get(cell.text.split()[0].lower()) if cell.text.split() else None
            fields["flag"] = flag or fields.get("flag")
    _, info = vocabulary.labs()
    known = info.get(mention.canonical, {})
    if fields.get("flag") is None and fields.get("value_num") is not None:
        fields["flag"] = _flag_from_range(fields["value_num"], fields.get("reference_range"), known)
    found = dates.find_dates(line.text)
    return record(
        line,
        mention.words + segment.words,
        mention.context,
        mention.position,
        test=mention.text,
        test_normalised=mention.canonical,
        loinc=mention.code or None,
        value=fields.get("value"),
        value_num=clean_number(fields.get("value_num")),
        comparator=fields.get("comparator"),
        unit=fields.get("unit"),
        reference_range=fields.get("reference_range"),
        flag=fields.get("flag"),
        date=found[0].iso if found else panel_date,
    )


def lab_from_row(line: Line, position: int, header: Line, panel_date: str | None) -> dict[str, Any] | None:
    """A row of a results table whose test is not in our lab list ('AV Orifice Area US 1.5 cm2'):
    the first cell names the test when the row holds a reading with a unit, range or flag."""
    if len(line.cells) < 2:
        return None
    first = line.cells[0]
    if not re.search(r"[A-Za-z]{2}", first.text) or dates.find_dates(first.text) or re.search(r"\d", first.text[:1]):
        return None
    rest = " ".join(cell.text for cell in line.cells[1:])
    fields = _read_value(_mask_dates(rest))
    if fields["value"] is None or not (fields["unit"] or fields["reference_range"] or fields["flag"]):
        return None
    tokens = [k for k, token in enumerate(line.tokens) if token.word in first.words]
    mention = Mention(
        "lab", first.text, "", line, position, (tokens[0], tokens[-1] + 1), context.Context(section="labs")
    )
    return lab(mention, header, panel_date)


def _mask_dates(text: str) -> str:
    for found in dates.find_dates(text):
        text = text[: found.start] + " " * (found.end - found.start) + text[found.end :]
    return re.sub(r"\b\d{1,2}:\d{2}\s*(?:[ap]m?)?\b", lambda m: " " * len(m.group()), text, flags=re.I)


def _read_value(text: str) -> dict[str, Any]:
    fields: dict[str, Any] = {"value": None, "value_num": None, "comparator": None, "unit": None}
    fields.update({"reference_range": None, "flag": None})
    # A range printed right after the test name: 'BUN [4-18 mg/dL] 8 mg/dL', 'WBC (4.3-10.8) 6.7'
    leading = re.match(r"^[\s\-:,]*(?:[A-Za-z]+,?\s+){0,2}[\[(]([^\])]*\d[^\])]*)[\])]", text)
    range_unit = None
    if leading:
        text = " " * leading.end() + text[leading.end() :]
        inside = RANGE_RE.search(leading.group(1))
        if inside:
            fields["reference_range"] = _range_text(inside)
            unit = UNIT_RE.match(leading.group(1)[inside.end() :])
            range_unit = unit.group(1) if unit and unit.group(1).lower() not in NOT_UNITS else None
    qualitative = QUALITATIVE.search(text)
    value = VALUE_RE.search(text)
    if qualitative and (value is None or qualitative.start() < value.start()):
        fields["value"] = qualitative.group(1)
        after = qualitative.end()
    elif value:
        fields["comparator"] = value.group(1)
        fields["value_num"] = number(value.group(2))
        fields["value"] = (value.group(1) or "") + value.group(2)
        after = value.end()
        unit = UNIT_RE.match(text[after:])
        if unit and unit.group(1).lower() not in NOT_UNITS:
            fields["unit"] = unit.group(1)
            after += unit.end()
        else:
            fields["unit"] = range_unit  # 'WBC (4.3-10.8 10+3/ul) 6.7': the unit printed with the range
    else:
        return fields
    rest = text[after:]
    found_range = RANGE_RE.search(rest)
    if found_range and not fields["reference_range"]:
        fields["reference_range"] = _range_text(found_range)
    for word in re.findall(r"[A-Za-z]+", rest):
        if word.lower() in FLAGS and (word.isupper() or len(word) > 1):
            fields["flag"] = FLAGS[word.lower()]
            break
    return fields


def _range_text(match: re.Match[str]) -> str:
    if match.group(1) is not None:
        return f"{match.group(1)}-{match.group(2)}"
    return f"{match.group(3)}{match.group(4)}"


def _flag_from_range(value: float, printed: str | None, known: dict[str, Any]) -> str | None:
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


VITAL_VALUE = re.compile(
    r"^\s*[:=]?\s*(?:(\d{2,3})\s*/\s*(\d{2,3})|(\d+(?:\.\d+)?)(?:\s*'\s*(\d{1,2})\s*\"?)?)\s*"
    r"(mm\s*\[?hg\]?|mmhg|°\s*[fc]|deg\s*[fc]|[fc]\b|/min|bpm|breaths/min|%|kg/m2|kg/m\^2|m2|kg|[li]bs?|cm|inches|in\b|m\b|/10)?",
    re.I,
)


def vitals_in_line(line: Line, position: int, section: str) -> list[dict[str, Any]]:
    """Vital signs printed as text on a line: 'BP 132/84 mmHg, HR 72'."""
    found: list[dict[str, Any]] = []
    tokens = [t.lower for t in line.tokens]
    for s, e, entry in vocabulary.vital_names().find(tokens):
        if len(" ".join(tokens[s:e])) == 1 and section != "vitals":
            continue  # 'P', 'T', 'R' alone are vitals only in a vitals section
        words = list(range(line.tokens[s].word, line.tokens[e - 1].word + 1))
        segment = Segment(line, words[-1] + 1)
        parsed = _vital(entry.canonical, segment.text)
        if not parsed:
            continue
        ctx = context.assess(tokens, s, e, section)
        end = parsed.pop("_end")
        found.append(record(line, words + segment.words_in(0, end), ctx, position, **parsed))
        # a row of readings at several dates ('Weight  189 lbs  194 lbs'): one vital per cell
        for cell in line.cells:
            if cell.words[0] > segment.words[0] and segment.spans[segment.words.index(cell.words[0])][0] >= end:
                more = _vital(entry.canonical, cell.text)
                if not more:
                    break
                more.pop("_end")
                found.append(record(line, cell.words, ctx, position, **more))
    return found


def table_columns(header: list[Line]) -> list[tuple[float, str | None]]:
    """(left x, vital kind or None) of each column of a vitals table, from its header rows.

    A header cell may wrap ('Blood' over 'Pressure'): words of the next rows join the word
    above them, then consecutive words that make a vital name make one column.
    """
    words = [[b[0], b[2], w] for w, b in zip(header[0].words, header[0].boxes, strict=True) if b]
    for extra in header[1:]:
        for text, box in zip(extra.words, extra.boxes, strict=True):
            if box is None:
                continue
            above = next((w for w in words if box[0] < w[1] + 10 and box[2] > w[0] - 10), None)
            if above is not None:
                above[2] = f"{above[2]} {text}"
                above[0], above[1] = min(above[0], box[0]), max(above[1], box[2])
            else:
                words.append([box[0], box[2], text])
    words.sort(key=lambda w: w[0])
    names = vocabulary.vital_names()
    words = [part for word in words for part in _split_run_on(word, names)]
    columns: list[tuple[float, str | None]] = []
    i = 0
    while i < len(words):
        for n in range(min(4, len(words) - i), 0, -1):
            entry = names.phrases.get(vocabulary.norm_tokens(" ".join(str(w[2]) for w in words[i : i + n])))
            if entry is not None:
                columns.append((float(words[i][0]), entry.canonical))
                i += n
                break
        else:
            columns.append((float(words[i][0]), None))
            i += 1
    return columns


def _split_run_on(word: list, names: vocabulary.PhraseIndex) -> list[list]:
    """OCR joins close header words ('TemperatureRespiratory'): split a word that is two names,
    sharing its width by letters."""
    text = str(word[2])
    if names.phrases.get(vocabulary.norm_tokens(text)) is not None or len(text) < 6:
        return [word]
    for cut in range(3, len(text) - 2):
        left, right = text[:cut], text[cut:]
        if names.phrases.get((left.lower(),)) and (names.phrases.get((right.lower(),)) or right[:1].isupper()):
            middle = word[0] + (word[1] - word[0]) * cut / len(text)
            return [[word[0], middle, left], [middle, word[1], right]]
    return [word]


def _split_value_run_on(word: str, box: list[int]) -> list[tuple[float, str]]:
    """'120/80mm[Hg]80': OCR joined a unit and the next column's number; split after ']' or '%'."""
    parts = re.split(r"(?<=[\]%])(?=\d)", word)
    if len(parts) == 1:
        return [(float(box[0]), word)]
    width = (box[2] - box[0]) / max(len(word), 1)
    found, offset = [], 0
    for part in parts:
        found.append((box[0] + offset * width, part))
        offset += len(part)
    return found


def vitals_in_table(
    rows: list[Line], columns: list[tuple[float, str | None]], position: int, section: str
) -> list[dict[str, Any]]:
    """The vitals of one table row (and the units wrapped onto the row below), column by column."""
    by_column: dict[int, list[tuple[Line, int, str]]] = {}
    for line in rows:
        for i, box in enumerate(line.boxes):
            if box is None:
                continue
            for x0, text in _split_value_run_on(line.words[i], box):
                k = max((k for k, (x, _) in enumerate(columns) if x <= x0 + 15), default=0)
                by_column.setdefault(k, []).append((line, i, text))
    found = []
    for k, (_x, kind) in enumerate(columns):
        if kind is None or k not in by_column:
            continue
        cell = by_column[k]
        parsed = _vital(kind, " ".join(text for _line, _i, text in cell))
        if parsed:
            parsed.pop("_end")
            line = cell[0][0]
            words = [i for owner, i, _text in cell if owner is line]
            found.append(record(line, words, context.Context(section=section), position, **parsed))
    return found


UNIT_NAMES = {"ib": "lb", "ibs": "lb", "lbs": "lb", "inches": "in", "°f": "F", "degf": "F", "°c": "C", "degc": "C"}


def _vital(kind: str, text: str) -> dict[str, Any] | None:
    text = re.sub(r"^\s*[\[(][^\])]*[\])]", lambda m: " " * len(m.group()), text)  # '[90-140 mmHg]' printed range
    match = VITAL_VALUE.match(text)
    if not match:
        return None
    spec = vocabulary.vitals()[kind]
    unit = re.sub(r"\s+", "", match.group(5) or "") or spec["unit"] or None
    fields: dict[str, Any] = {"type": kind, "systolic": None, "diastolic": None, "_end": match.end()}
    if match.group(1):
        if kind != "blood_pressure":
            return None
        fields.update(systolic=int(match.group(1)), diastolic=int(match.group(2)))
        fields.update(value=f"{match.group(1)}/{match.group(2)}", unit="mmHg")
        return fields
    value = float(match.group(3))
    if match.group(4):  # 5'7" -> inches
        value, unit = value * 12 + float(match.group(4)), "in"
    if not spec["min"] <= value <= spec["max"] or kind == "blood_pressure":
        return None
    if unit and unit.lower().startswith("mm"):
        unit = "mmHg"
    unit = UNIT_NAMES.get(unit.lower().replace(" ", ""), unit) if unit else unit  # 'Ibs' is OCR's 'lbs'

    fields.update(value=clean_number(value), unit=unit)
    return fields


def vital_header(line: Line, section: str) -> bool:
    """A row of vital sign names with no numbers: the header of a vitals table."""
    tokens = [t.lower for t in line.tokens]
    names = vocabulary.vital_names().find(tokens)
    enough = len(names) >= 2 or (len(names) == 1 and section == "vitals" and len(line.cells) >= 2)
    return enough and not any(t[:1].isdigit() for t in tokens)


def lab_header(line: Line) -> bool:
    return len(line.cells) >= 2 and "value" in _column_roles(line)
