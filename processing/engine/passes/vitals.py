"""Pass 2 for vital signs, printed as text ('BP 132/84 mmHg, HR 72') or as a table.

A table is read by its columns: the header rows give each column's vital and x position, and
each reading is taken from the words under it (and the units wrapped onto the row below).
OCR of a dense header is imperfect: 'O2' reads '02', neighbouring names run together
('TemperatureRespiratory', 'TemperatureR espiratory', 'BP-Sys(mm[Hg])BP-Dia...'), and a
superscript '²' reads '?'. The readers below undo those slips rather than trust the header.
"""

import re
from dataclasses import dataclass, replace

from processing.engine.passes import context, dates, vocabulary
from processing.engine.passes.layout import Line
from processing.engine.passes.records import Vital, VitalReading
from processing.engine.passes.rows import Segment, clean_number, record_fields

VITAL_VALUE = re.compile(
    r"^[\s:=\"'\u201c\u201d\u2018\u2019\u2014\u2013~|_-]*(?:(\d{2,3})(?:\.0)?\s*/\s*(\d{1,3})(?:\.0)?(?!\d)|(\d+(?:\.\d+)?)\.?(?:\s*'\s*(\d{1,2})\s*\"?)?)\s*"
    r"(mm\s*\[?hg\]?|mmhg|°\s*[fc]|deg\s*[fc]|\[deg[fc]\]|\[in_(?:us|i)\]|\[[li1]b_av\]|[fc]\b|/min|bpm|breaths/min|%"
    r"|kg[/il1]m[2²?]|kg/m\^2|m[2²?]|kg|[li]bs?|cm|inches|in\b|m\b|/10)?",
    re.I,
)
# printed as spelled, UCUM codes ('[in_us]', '[lb_av]', '[degF]') and OCR's 'Ibs' among them
UNIT_NAMES = {
    "ib": "lb", "ibs": "lb", "lbs": "lb", "inches": "in", "°f": "F", "degf": "F", "°c": "C", "degc": "C",
    "[in_us]": "in", "[in_i]": "in", "[lb_av]": "lb", "[ib_av]": "lb", "[1b_av]": "lb", "[degf]": "F", "[degc]": "C",
}  # fmt: skip
# OCR reads the letter O of 'O2' as a zero: 'SpO2' -> 'Sp02', 'O2 Sat' -> '02 Sat'
O2_SLIPS = {"02": "o2"}  # and "sp02" -> "spo2": see layout.O_READ_AS_ZERO
# A column x taken from a run-on header word is an estimate (by letters): allow this much slack
ESTIMATE_SLACK = 100.0
Column = tuple[float, str | None, float]  # left x, vital kind (None: not a vital), slack


@dataclass
class _HeaderWord:
    """A word of a vitals table's header and its x extent, give or take `slack` when the x is
    estimated by letters (a name cut out of a word OCR ran together)."""

    x0: float
    x1: float
    text: str
    slack: float


@dataclass(frozen=True)
class _Read:
    """A vital read from the start of a text, and where in that text the reading ended."""

    reading: VitalReading
    end: int


def _o2(text: str) -> str:
    return re.sub(r"\b(Sp|Sa|Fi|sp|sa|fi)?02\b", lambda m: (m.group(1) or "") + "O2", text)


def _tokens(line: Line) -> list[str]:
    return [O2_SLIPS.get(t.lower, t.lower) for t in line.tokens]


def date_cells(line: Line) -> list[tuple[float, float, str]]:
    """(x0, x1, date) of the cells of `line` that hold a date: a 'Date / Time' row over readings."""
    found = []
    for cell in line.cells:
        when = dates.parse_date(cell.text)
        if when is not None:
            found.append((cell.x0, cell.x1, when.iso))
    return found


def _date_above(line: Line, words: list[int], dated: list[tuple[float, float, str]]) -> str | None:
    boxes = line.boxes_of(words)
    if not boxes or not dated:
        return None
    x0, x1 = boxes[0][0], boxes[-1][2]
    best = max(dated, key=lambda d: min(d[1], x1) - max(d[0], x0))
    return best[2] if min(best[1], x1) - max(best[0], x0) > 0 else None


def vitals_in_line(line: Line, section: str, dated: list[tuple[float, float, str]] | None = None) -> list[Vital]:
    """Vital signs printed as text on a line: 'BP 132/84 mmHg, HR 72'. `dated`: the date cells of
    a row above ('Date / Time:  Nov 1, 2011  August 6, 2012'), dating the reading under each."""
    found: list[Vital] = []
    tokens = _tokens(line)
    printed = dates.parse_date(line.text)

    def add(words: list[int], ctx: context.Context, parsed: VitalReading) -> None:
        when = printed.iso if printed else _date_above(line, words, dated or [])
        found.append({**parsed, "date": when, **record_fields(line, words, ctx)})

    for s, e, entry in vocabulary.vital_names().find(tokens):
        if len(" ".join(tokens[s:e])) == 1 and section != "vitals":
            continue  # 'P', 'T', 'R' alone are vitals only in a vitals section
        words = list(range(line.tokens[s].word, line.tokens[e - 1].word + 1))
        segment = Segment(line, words[-1] + 1)
        parsed = _vital(entry.canonical, segment.text)
        if parsed is None:  # a speck OCR read as a cell ('3', '—') between the name and its reading
            segment, parsed = _past_specks(line, words[-1], entry.canonical, segment)
        if parsed is None:
            ctx = context.assess(tokens, s, e, section)
            for when, start, end, reading in _dated_readings(entry.canonical, segment.text):
                found.append(
                    {**reading, "date": when, **record_fields(line, words + segment.words_in(start, end), ctx)}
                )
            labelled = _labelled_reading(entry.canonical, segment.text) if section == "vitals" else None
            if labelled is not None:
                add(words + segment.words_in(labelled[0], labelled[1]), ctx, labelled[2])
            continue
        ctx = context.assess(tokens, s, e, section)
        end = parsed.end
        add(words + segment.words_in(0, end), ctx, parsed.reading)
        # a row of readings at several dates ('Weight  189 lbs  194 lbs'): one vital per cell
        for cell in line.cells:
            if cell.words[0] > segment.words[0] and segment.spans[segment.words.index(cell.words[0])][0] >= end:
                more = _vital(entry.canonical, cell.text)
                if more is None:
                    break
                add(cell.words, ctx, more.reading)
    return found


# 'Height - Nov 1, 2011: 69 inches; August 6, 2012: 69 inches': readings after their dates, as
# a letter writes a table of one column per date
_SEPARATOR = re.compile(r"[\s\-\u2013:;,]*")
# 'Value: 31.8; Unit: kg/m2': a record written as labelled fields
_LABELLED = re.compile(
    r"\bvalue\s*[:=]\s*([<>]?\d+(?:\.\d+)?(?:\s*/\s*\d+(?:\.\d+)?)?)(?:[;,]\s*units?\s*[:=]\s*(\S+))?", re.I
)


def _dated_readings(kind: str, text: str) -> list[tuple[str, int, int, VitalReading]]:
    """(date, start, end, reading) of each 'date: value' after a vital's name."""
    found: list[tuple[str, int, int, VitalReading]] = []
    at = 0
    while True:
        at = _past_separators(text, at)
        printed = dates.find_dates(text[at : at + 40])
        if not printed or printed[0].start != 0:
            return found
        start = at
        at += printed[0].end
        at = _past_separators(text, at)
        parsed = _vital(kind, text[at:])
        if parsed is None:
            return found
        found.append((printed[0].iso, start, at + parsed.end, parsed.reading))
        at += parsed.end


SPECK_CELL = re.compile(r"[^A-Za-z]{1,3}")


def _past_specks(line: Line, last_word: int, kind: str, segment: Segment) -> tuple[Segment, _Read | None]:
    """The reading in the first cell after the name that is more than a speck or two."""
    for cell in line.cells:
        if cell.words[0] <= last_word:
            continue
        if SPECK_CELL.fullmatch(cell.text.strip()):
            continue
        after = Segment(line, cell.words[0])
        parsed = _vital(kind, after.text)
        return (after, parsed) if parsed is not None else (segment, None)
    return segment, None


def _past_separators(text: str, at: int) -> int:
    separators = _SEPARATOR.match(text, at)
    return separators.end() if separators else at


def _labelled_reading(kind: str, text: str) -> tuple[int, int, VitalReading] | None:
    match = _LABELLED.search(text)
    if match is None:
        return None
    parsed = _vital(kind, f"{match.group(1)} {match.group(2) or ''}")
    return (match.start(), match.end(), parsed.reading) if parsed is not None else None


def table_columns(header: list[Line]) -> list[Column]:
    """(left x, vital kind or None, slack) of each column of a vitals table, from its header rows.

    Words run together by OCR are split first; then a header cell that wraps ('Blood' over
    'Pressure') joins the word above it, and consecutive words that make a vital name make
    one column.
    """
    names = vocabulary.vital_names()
    first = [
        _HeaderWord(float(b[0]), float(b[2]), _o2(w), 0.0)
        for w, b in zip(header[0].words, header[0].boxes, strict=True)
        if b
    ]
    first = [part for word in first for part in _split_camel_case(word, names)]
    words = [part for word in _join_broken(first, names) for part in _split_run_on(word, names)]
    for extra in header[1:]:
        for text, box in zip(extra.words, extra.boxes, strict=True):
            if box is None:
                continue
            overlaps = [(min(w.x1, box[2] + 10) - max(w.x0, box[0] - 10), k) for k, w in enumerate(words)]
            overlap, k = max(overlaps, default=(0.0, -1))
            if overlap > 0:  # the word above, the one it overlaps most
                above = words[k]
                above.text = f"{above.text} {_o2(text)}"
                above.x0, above.x1 = min(above.x0, box[0]), max(above.x1, box[2])
            else:
                words.append(_HeaderWord(float(box[0]), float(box[2]), _o2(text), 0.0))
    words.sort(key=lambda w: w.x0)
    columns: list[Column] = []
    i = 0
    while i < len(words):
        for n in range(min(4, len(words) - i), 0, -1):
            entry = names.phrases.get(vocabulary.norm_tokens(" ".join(w.text for w in words[i : i + n])))
            if entry is not None:
                columns.append((words[i].x0, entry.canonical, words[i].slack))
                i += n
                break
        else:
            columns.append((words[i].x0, None, words[i].slack))
            i += 1
    return columns


def _split_camel_case(word: _HeaderWord, names: vocabulary.PhraseIndex) -> list[_HeaderWord]:
    """A header printed without spaces ('RespiratoryRate', 'SystolicBP', 'BodyTemperature'):
    split where a lower-case letter meets a capital, when the pieces name a vital and the
    word itself does not ('SpO2' stays whole)."""
    text = word.text
    if names.phrases.get(vocabulary.norm_tokens(text)) is not None:
        return [word]
    cuts = [m.start() for m in re.finditer(r"(?<=[a-z])(?=[A-Z])", text)]
    pieces = [text[a:b] for a, b in zip([0, *cuts], [*cuts, len(text)], strict=True)]
    if not cuts or min(len(p) for p in pieces) < 2:
        return [word]
    if names.phrases.get(vocabulary.norm_tokens(" ".join(pieces))) is None and not any(
        names.phrases.get(vocabulary.norm_tokens(p)) for p in pieces
    ):
        return [word]
    width = (word.x1 - word.x0) / len(text)
    return [
        _HeaderWord(word.x0 + width * a, word.x0 + width * b, piece, word.slack if a == 0 else ESTIMATE_SLACK)
        for a, b, piece in zip([0, *cuts], [*cuts, len(text)], pieces, strict=True)
    ]


def _join_broken(words: list[_HeaderWord], names: vocabulary.PhraseIndex) -> list[_HeaderWord]:
    """OCR may break a run-on at the wrong letter ('TemperatureR espiratory'): a word that is a
    name and one capital, followed by a lower-case word, is joined to it, to be split again."""
    joined: list[_HeaderWord] = []
    for word in words:
        if joined:
            last = joined[-1]
            broken = re.fullmatch(r"(.{3,}?)([A-Z][a-z]?)", last.text)
            if broken and names.phrases.get((broken.group(1).lower(),)) and word.text[:1].islower():
                last.x1, last.text = word.x1, f"{last.text}{word.text}"
                continue
        joined.append(replace(word))
    return joined


def _split_run_on(word: _HeaderWord, names: vocabulary.PhraseIndex) -> list[_HeaderWord]:
    """OCR joins close header words: a word that is two names ('TemperatureRespiratory') is
    split in two, or one holding several names among noise ('BP-Sys(mm[Hg]Dia(mm[Hg]...') in as
    many, each at an x estimated by its letters."""
    text = word.text
    if names.phrases.get(vocabulary.norm_tokens(text)) is not None or len(text) < 6:
        return [word]
    width = (word.x1 - word.x0) / len(text)
    for cut in range(3, len(text) - 2):
        left, right = text[:cut], text[cut:]
        if names.phrases.get((left.lower(),)) and (names.phrases.get((right.lower(),)) or right[:1].isupper()):
            middle = word.x0 + width * cut
            return [_HeaderWord(word.x0, middle, left, word.slack), _HeaderWord(middle, word.x1, right, ESTIMATE_SLACK)]
    tokens = [(m.start(), m.group().lower()) for m in re.finditer(r"[A-Za-z0-9]+|[^\sA-Za-z0-9]", text)]
    inside = [(s, e) for s, e, _ in names.find([t for _, t in tokens]) if e - s > 1 or len(tokens[s][1]) > 1]
    if len(inside) < 2:
        return [word]
    parts = []
    for n, (s, e) in enumerate(inside):
        start = tokens[s][0]
        end = tokens[inside[n + 1][0]][0] if n + 1 < len(inside) else len(text)
        left_x = word.x0 if n == 0 else word.x0 + width * start
        slack = word.slack if n == 0 else ESTIMATE_SLACK
        parts.append(_HeaderWord(left_x, word.x0 + width * end, " ".join(t for _, t in tokens[s:e]), slack))
    return parts


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


def vitals_in_table(rows: list[Line], columns: list[Column], section: str) -> list[Vital]:
    """The vitals of one table row (and the units wrapped onto the row below), column by column."""
    by_column: dict[int, list[tuple[Line, int, str]]] = {}
    for line in rows:
        for i, box in enumerate(line.boxes):
            if box is None:
                continue
            for x0, text in _split_value_run_on(line.words[i], box):
                k = max((k for k, (x, _, slack) in enumerate(columns) if x - slack <= x0 + 15), default=0)
                by_column.setdefault(k, []).append((line, i, text))
    found: list[Vital] = []
    when = dates.parse_date(rows[0].text)
    for k, (_x, kind, _slack) in enumerate(columns):
        if kind is None or k not in by_column:
            continue
        cell = by_column[k]
        parsed = _vital(kind, " ".join(text for _line, _i, text in cell))
        if parsed is not None:
            line = cell[0][0]
            words = [i for owner, i, _text in cell if owner is line]
            ctx = context.Context(section=section)
            found.append({**parsed.reading, "date": when.iso if when else None, **record_fields(line, words, ctx)})
    return found


def _vital(kind: str, text: str) -> _Read | None:
    text = re.sub(r"^\s*[\[(][^\])]*[\])]", lambda m: " " * len(m.group()), text)  # '[90-140 mmHg]' printed range
    match = VITAL_VALUE.match(text)
    if not match:
        return None
    spec = vocabulary.vitals()[kind]
    unit = re.sub(r"\s+", "", match.group(5) or "") or spec["unit"] or None
    if match.group(1):
        if kind != "blood_pressure":
            return None
        high, low = match.group(1), match.group(2)
        pressure: VitalReading = {
            "type": kind,
            "systolic": int(high),
            "diastolic": int(low),
            "value": f"{high}/{low}",
            "unit": "mmHg",
        }
        return _Read(pressure, match.end())
    value = float(match.group(3))
    if match.group(4):  # 5'7" -> inches
        value, unit = value * 12 + float(match.group(4)), "in"
    if not spec["min"] <= value <= spec["max"] or kind == "blood_pressure":
        return None
    if unit and unit.lower().startswith("mm"):
        unit = "mmHg"
    if unit:
        unit = re.sub(r"m[²?]$", "m2", unit)  # a superscript '²', which OCR may read '?'
        unit = re.sub(r"^kg[il1]m", "kg/m", unit)  # a slash OCR read as a letter: 'kgim2'
        unit = UNIT_NAMES.get(unit.lower().replace(" ", ""), unit)  # 'Ibs' is OCR's 'lbs'
    measured: VitalReading = {
        "type": kind,
        "systolic": None,
        "diastolic": None,
        "value": clean_number(value),
        "unit": unit,
    }
    return _Read(measured, match.end())


def vital_header(line: Line, section: str) -> bool:
    """A row of vital sign names with no numbers: the header of a vitals table."""
    tokens = _tokens(line)
    names = vocabulary.vital_names().find(tokens)
    enough = len(names) >= 2 or (len(names) == 1 and section == "vitals" and len(line.cells) >= 2)
    return enough and not any(t[:1].isdigit() for t in tokens)
