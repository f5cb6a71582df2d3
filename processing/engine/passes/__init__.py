"""The extraction passes over a read document: encounters, clinical entities, structured records.

    from processing.engine.passes import run_passes
    result = run_passes(pages)   # pages: DB Page rows, process_file's page dicts, or PageResults

Pure Python, offline, no database: the caller stores the result. Vocabularies load on first
use and stay for the life of the process; call `vocabulary.warm()` at worker start-up.
"""

import bisect
import re
from typing import Any

from processing.engine.passes import dates, entities, measurements, structured, vitals
from processing.engine.passes.context import Context
from processing.engine.passes.encounters import find_encounters
from processing.engine.passes.layout import Line, document_lines

RECORD_KINDS = ("medications", "labs", "vitals", "conditions", "allergies", "immunizations", "procedures")
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


def run_passes(pages: list[Any], *, date_order: str | None = None) -> dict[str, Any]:
    """Encounters and records of a document: `{"encounters": [...], "records": {kind: [...]}}`.

    `date_order` ("MDY" or "DMY") reads ambiguous numeric dates; "MDY" when not given.
    """
    token = dates.ORDER.set(date_order)
    try:
        return _run(pages)
    finally:
        dates.ORDER.reset(token)


def _run(pages: list[Any]) -> dict[str, Any]:
    lines = document_lines(pages)
    if not lines:
        return {"encounters": [], "records": {kind: [] for kind in RECORD_KINDS}}
    section_of = entities.sections_of(lines)
    found_encounters = find_encounters(lines)
    records: dict[str, list[dict[str, Any]]] = {kind: [] for kind in RECORD_KINDS}
    titles = {e["_start"] for e in found_encounters if e["title"]}
    mentions = entities.find_mentions(lines, section_of, skip=titles)
    _tables(lines, section_of, mentions, records)
    for mention in mentions:
        nxt = lines[mention.position + 1] if mention.position + 1 < len(lines) else None
        if mention.kind == "medication":
            records["medications"].append(structured.medication(mention, nxt))
        elif mention.kind in ("allergen", "no_known_allergies"):
            records["allergies"].append(structured.allergy(mention))
        elif mention.kind == "vaccine":
            records["immunizations"].append(structured.immunization(mention))
        elif mention.kind == "condition":
            records["conditions"].append(structured.condition(mention))
        elif mention.kind == "no_known_problems":
            records["conditions"].append(structured.none_known(mention, "name"))
        elif mention.kind == "no_medications":
            records["medications"].append(structured.none_known(mention, "name"))
        elif mention.kind == "procedure":
            records["procedures"].append(structured.procedure(mention))
    records["vitals"] = _blood_pressure(records["vitals"])
    starts = [e.pop("_start") for e in found_encounters]
    for kind, items in records.items():
        items.sort(key=lambda r: r["_position"])
        for item in items:
            at = bisect.bisect_right(starts, item.pop("_position")) - 1
            item["encounter"] = found_encounters[max(at, 0)]["id"]
        records[kind] = _dedupe(items, SAME[kind])
    return {"encounters": found_encounters, "records": records}


def _tables(
    lines: list[Line], section_of: list[str], mentions: list[entities.Mention], records: dict[str, list]
) -> None:
    """Labs and vitals, read row by row with the column headers of their table."""
    labs_by_line: dict[int, list[entities.Mention]] = {}
    allergy_lines = {m.position for m in mentions if m.kind in ("allergen", "no_known_allergies")}
    for mention in mentions:
        if mention.kind == "lab":
            labs_by_line.setdefault(mention.position, []).append(mention)
    lab_header: Line | None = None
    vital_header: list[Line] = []
    vital_dates: list[tuple[float, float, str]] = []  # a 'Date / Time' row over columns of readings
    panel_date: str | None = None
    section = None
    skip = header_at = -1
    for position, line in enumerate(lines):
        if section_of[position] != section:
            section, lab_header, vital_header, panel_date = section_of[position], None, [], None
            vital_dates = []
        if measurements.lab_header(line):
            lab_header = line
        if vitals.vital_header(line, section or ""):
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
            read = measurements.lab(mention, lab_header, panel_date, below)
            skip = position + 1 if read.took_next_line else skip  # the rest of its value cell
            records["labs"].append(read.record)
        if not on_line and section == "labs" and lab_header is not None and lab_header is not line:
            row = measurements.lab_from_row(line, position, lab_header, panel_date)
            if row is not None:
                records["labs"].append(row)
                continue
        if vital_header and has_number and not on_line:
            columns = vitals.table_columns(vital_header)
            rows = [line]
            below = lines[position + 1] if position + 1 < len(lines) else None
            if below is not None and below.page == line.page and _units_only(below):
                rows.append(below)
                skip = position + 1
            records["vitals"].extend(vitals.vitals_in_table(rows, columns, position, section))
        elif not on_line:
            read = vitals.vitals_in_line(line, position, section, vital_dates)
            records["vitals"].extend(read)
            if not read and section == "vitals":
                vital_dates = vitals.date_cells(line) or vital_dates
        if section == "allergies" and position not in allergy_lines:
            row = structured.allergy_from_row(line, position, Context(section="allergies"))
            if row:
                records["allergies"].append(row)


def _units_only(line: Line) -> bool:
    """A row under a table row that holds only what wrapped from it: units, a time, no reading."""
    return not any(re.fullmatch(r"[<>]?\d+(?:[.,]\d+)?(?:/\d+)?%?", word) for word in line.words)


def _blood_pressure(vitals: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Systolic and diastolic printed as two rows make one blood pressure."""
    systolic = next((v for v in vitals if v["type"] == "systolic"), None)
    diastolic = next((v for v in vitals if v["type"] == "diastolic"), None)
    if systolic is None or diastolic is None:
        return vitals
    merged = {**systolic, "type": "blood_pressure", "unit": "mmHg"}
    merged.update(systolic=systolic["value"], diastolic=diastolic["value"])
    merged.update(value=f"{systolic['value']}/{diastolic['value']}", boxes=systolic["boxes"] + diastolic["boxes"])
    merged["text"] = f"{systolic['text']} {diastolic['text']}"
    rest = [v for v in vitals if v is not systolic and v is not diastolic]
    return [merged, *_blood_pressure(rest)]


def _dedupe(items: list[dict[str, Any]], keys: tuple[str, ...]) -> list[dict[str, Any]]:
    """One record per thing said in an encounter; the first mention keeps its boxes."""
    seen: set[tuple] = set()
    kept = []
    for item in items:
        key = (item["encounter"], *(str(item.get(k)).lower() for k in keys))
        if key not in seen:
            seen.add(key)
            kept.append(item)
    return kept
