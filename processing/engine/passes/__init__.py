"""The extraction passes over a read document: encounters, clinical entities, structured records.

    from processing.engine.passes import run_passes
    result = run_passes(pages)   # pages: DB Page rows, process_file's page dicts, or PageResults

Pure Python, offline, no database: the caller stores the result (its shape: records.py).
Vocabularies load on first use and stay for the life of the process; call `vocabulary.warm()`
at worker start-up.
"""

import bisect
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

from processing.engine.passes import dates, entities, measurements, structured, vitals
from processing.engine.passes.context import Context
from processing.engine.passes.document_kind import NOT_CLINICAL, document_kind
from processing.engine.passes.encounters import find_encounters
from processing.engine.passes.layout import Line, document_lines
from processing.engine.passes.records import (
    RECORD_KINDS,
    Allergy,
    Condition,
    Encounter,
    Extraction,
    Immunization,
    Lab,
    Medication,
    Placed,
    Procedure,
    RecordFields,
    Records,
    Vital,
)

__all__ = ["RECORD_KINDS", "Extraction", "run_passes"]

# The fields that make two mentions the same record within one encounter.
SAME = {
    "medications": ("generic", "strength", "negated", "no_known"),
    "labs": ("test_normalised", "value", "date"),
    "vitals": ("type", "value", "page", "date"),
    "conditions": ("name_normalised", "negated", "context", "no_known"),
    "allergies": ("substance_normalised", "no_known", "negated"),
    "immunizations": ("vaccine_normalised", "date", "status"),
    "procedures": ("name_normalised", "date"),
}

Record = TypeVar("Record", bound=RecordFields)


@dataclass
class _Read:
    """The records read so far, kind by kind, each with the line it was read from."""

    medications: list[Placed[Medication]] = field(default_factory=list)
    labs: list[Placed[Lab]] = field(default_factory=list)
    vitals: list[Placed[Vital]] = field(default_factory=list)
    conditions: list[Placed[Condition]] = field(default_factory=list)
    allergies: list[Placed[Allergy]] = field(default_factory=list)
    immunizations: list[Placed[Immunization]] = field(default_factory=list)
    procedures: list[Placed[Procedure]] = field(default_factory=list)


def run_passes(pages: list[Any], *, date_order: str | None = None) -> Extraction:
    """Encounters and records of a document: `{"encounters": [...], "records": {kind: [...]}}`.

    `date_order` ("MDY" or "DMY") reads ambiguous numeric dates; "MDY" when not given.
    """
    token = dates.ORDER.set(date_order)
    try:
        return _run(pages)
    finally:
        dates.ORDER.reset(token)


def _run(pages: list[Any]) -> Extraction:
    lines = document_lines(pages)
    read = _Read()
    if not lines:
        return {"document_kind": NOT_CLINICAL, "encounters": [], "records": _in_encounters(read, [])}
    section_of = entities.sections_of(lines)
    found_encounters = find_encounters(lines)
    titles = {e.line for e in found_encounters if e.item["title"]}
    mentions = entities.find_mentions(lines, section_of, skip=titles)
    _tables(lines, section_of, mentions, read)
    drugs_on_line: set[tuple[int, str]] = set()
    for mention in mentions:
        at = mention.position
        nxt = lines[at + 1] if at + 1 < len(lines) else None
        if mention.kind == "medication":
            # a row that names the drug twice ('Keflex (cephalexin) oral capsule | cephalexin |
            # 500 mg'): brand and generic columns are one medication
            if (at, mention.canonical.lower()) in drugs_on_line:
                continue
            drugs_on_line.add((at, mention.canonical.lower()))
            read.medications.append(Placed(at, structured.medication(mention, nxt)))
        elif mention.kind in ("allergen", "no_known_allergies"):
            read.allergies.append(Placed(at, structured.allergy(mention)))
        elif mention.kind == "vaccine":
            read.immunizations.append(Placed(at, structured.immunization(mention)))
        elif mention.kind == "condition":
            read.conditions.append(Placed(at, structured.condition(mention)))
        elif mention.kind == "no_known_problems":
            read.conditions.append(Placed(at, structured.no_known_problems(mention)))
        elif mention.kind == "no_medications":
            read.medications.append(Placed(at, structured.no_medications(mention)))
        elif mention.kind == "procedure":
            read.procedures.append(Placed(at, structured.procedure(mention)))
    read.vitals = _blood_pressure(read.vitals)
    records = _in_encounters(read, found_encounters)
    kind = document_kind(lines, [e.item for e in found_encounters], records)
    if kind == NOT_CLINICAL:  # a paper's or a form's numbers are no patient's records
        return {"document_kind": kind, "encounters": [], "records": _in_encounters(_Read(), [])}
    return {"document_kind": kind, "encounters": [e.item for e in found_encounters], "records": records}


def _tables(lines: list[Line], section_of: list[str], mentions: list[entities.Mention], read: _Read) -> None:
    """Labs and vitals, read row by row with the column headers of their table."""
    labs_by_line: dict[int, list[entities.Mention]] = {}
    allergy_lines = {m.position for m in mentions if m.kind in ("allergen", "no_known_allergies")}
    in_range_phrase: dict[int, set[int]] = {}
    for mention in mentions:
        if mention.kind != "lab":
            continue
        if mention.position not in in_range_phrase:
            in_range_phrase[mention.position] = measurements.range_phrase_words(mention.line)
        if not set(mention.words) & in_range_phrase[mention.position]:  # 'Normal troponin range 0-0.1'
            labs_by_line.setdefault(mention.position, []).append(mention)
    lab_header: Line | None = None
    vital_header: list[Line] = []
    vital_dates: list[tuple[float, float, str]] = []  # a 'Date / Time' row over columns of readings
    panel_date: str | None = None
    previous_section: str | None = None
    skip = header_at = -1
    for position, line in enumerate(lines):
        section = section_of[position]
        if section != previous_section:
            previous_section, lab_header, vital_header, panel_date = section, None, [], None
            vital_dates = []
        if measurements.lab_header(line):
            lab_header = line
        if vitals.vital_header(line, section):
            vital_header, header_at = [line], position
            continue
        has_number = any(t.lower[:1].isdigit() for t in line.tokens)
        if vital_header and position - 1 == header_at and not has_number:
            vital_header.append(line)  # the second row of a wrapped header
            header_at = position
            continue
        if position <= skip:
            continue
        on_line = labs_by_line.get(position, [])
        if not on_line and section == "labs":
            found = dates.find_dates(line.text)
            panel_date = found[0].iso if found else panel_date
        below = lines[position + 1] if position + 1 < len(lines) and position + 1 not in labs_by_line else None
        for mention in on_line:
            lab = measurements.lab(mention, lab_header, panel_date, below)
            skip = position + 1 if lab.took_next_line else skip  # the rest of its value cell
            read.labs.append(Placed(position, lab.record))
        if not on_line and section == "labs" and lab_header is not None and lab_header is not line:
            row = measurements.lab_from_row(line, position, lab_header, panel_date)
            if row is not None:
                read.labs.append(Placed(position, row))
                continue
        if vital_header and has_number and not on_line:
            columns = vitals.table_columns(vital_header)
            rows = [line]
            below = lines[position + 1] if position + 1 < len(lines) else None
            if below is not None and below.page == line.page and _units_only(below):
                rows.append(below)
                skip = position + 1
            read.vitals += [Placed(position, v) for v in vitals.vitals_in_table(rows, columns, section)]
        elif not on_line:
            in_line = vitals.vitals_in_line(line, section, vital_dates)
            read.vitals += [Placed(position, v) for v in in_line]
            if not in_line and section == "vitals":
                vital_dates = vitals.date_cells(line) or vital_dates
        if section == "allergies" and position not in allergy_lines:
            allergy = structured.allergy_from_row(line, Context(section="allergies"))
            if allergy:
                read.allergies.append(Placed(position, allergy))


def _units_only(line: Line) -> bool:
    """A row under a table row that holds only what wrapped from it: units, a time, no reading."""
    return not any(re.fullmatch(r"[<>]?\d+(?:[.,]\d+)?(?:/\d+)?%?", word) for word in line.words)


def _blood_pressure(vitals: list[Placed[Vital]]) -> list[Placed[Vital]]:
    """Systolic and diastolic printed as two rows make one blood pressure."""
    systolic = next((v for v in vitals if v.item["type"] == "systolic"), None)
    diastolic = next((v for v in vitals if v.item["type"] == "diastolic"), None)
    if systolic is None or diastolic is None:
        return vitals
    high, low = systolic.item, diastolic.item
    high_value, low_value = high["value"], low["value"]
    assert not isinstance(high_value, str) and not isinstance(low_value, str)  # only a blood pressure reads 'a/b'
    merged: Vital = {**high, "type": "blood_pressure", "unit": "mmHg"}
    merged.update({"systolic": high_value, "diastolic": low_value})
    merged.update({"value": f"{high_value}/{low_value}", "boxes": high["boxes"] + low["boxes"]})
    merged["text"] = f"{high['text']} {low['text']}"
    rest = [v for v in vitals if v is not systolic and v is not diastolic]
    return [Placed(systolic.line, merged), *_blood_pressure(rest)]


def _in_encounters(read: _Read, encounters: list[Placed[Encounter]]) -> Records:
    """Every kind's records in document order, each naming its encounter, one per thing said."""
    starts = [e.line for e in encounters]
    ids = [e.item["id"] for e in encounters]
    return {
        "medications": _placed_in(read.medications, starts, ids, SAME["medications"]),
        "labs": _placed_in(read.labs, starts, ids, SAME["labs"]),
        "vitals": _placed_in(read.vitals, starts, ids, SAME["vitals"]),
        "conditions": _placed_in(read.conditions, starts, ids, SAME["conditions"]),
        "allergies": _placed_in(read.allergies, starts, ids, SAME["allergies"]),
        "immunizations": _placed_in(read.immunizations, starts, ids, SAME["immunizations"]),
        "procedures": _placed_in(read.procedures, starts, ids, SAME["procedures"]),
    }


def _placed_in(placed: list[Placed[Record]], starts: list[int], ids: list[str], same: tuple[str, ...]) -> list[Record]:
    """The records in the order of their lines, each in the encounter started last before it."""
    records = []
    for one in sorted(placed, key=lambda p: p.line):
        at = bisect.bisect_right(starts, one.line) - 1
        one.item["encounter"] = ids[max(at, 0)]
        records.append(one.item)
    return _dedupe(records, same)


def _dedupe(items: list[Record], keys: tuple[str, ...]) -> list[Record]:
    """One record per thing said in an encounter; the first mention keeps its boxes."""
    seen: set[tuple[str, ...]] = set()
    kept = []
    for item in items:
        fields: Mapping[str, object] = item
        key = (item["encounter"], *(str(fields.get(k)).lower() for k in keys))
        if key not in seen:
            seen.add(key)
            kept.append(item)
    return kept
