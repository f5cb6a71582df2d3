"""What the document page shows of a document's extraction: encounters, and per encounter
its records as a compact table per type, with the word boxes to highlight on the page image.

A selector over `Document.extraction` (processing.engine.passes.run_passes's JSON); plain values
only, so that the template escapes everything and the boxes go out through json_script.
"""

from dataclasses import dataclass, field
from typing import Any

from documents.models import Document

# Per record type: its heading and the key fields shown, as (column, how to read it).
KINDS: dict[str, tuple[str, list[tuple[str, Any]]]] = {
    "medications": (
        "Medications",
        [
            ("Medication", lambda r: r.get("name") or ("No medications" if r.get("no_known") else "")),
            ("Strength", lambda r: r.get("strength")),
            ("Dose", lambda r: _joined(r.get("dose") if not r.get("dose_implied") else None, r.get("dose_unit"))),
            ("Route", lambda r: r.get("route")),
            ("Frequency", lambda r: _joined(r.get("frequency"), "PRN" if r.get("prn") else None)),
            ("Status", lambda r: r.get("status")),
        ],
    ),
    "labs": (
        "Lab results",
        [
            ("Test", lambda r: r.get("test")),
            ("Value", lambda r: r.get("value")),
            ("Unit", lambda r: r.get("unit")),
            ("Range", lambda r: r.get("reference_range")),
            ("Flag", lambda r: r.get("flag")),
            ("Date", lambda r: r.get("date")),
        ],
    ),
    "vitals": (
        "Vital signs",
        [
            ("Vital", lambda r: (r.get("type") or "").replace("_", " ")),
            ("Value", lambda r: r.get("value")),
            ("Unit", lambda r: r.get("unit")),
        ],
    ),
    "conditions": (
        "Conditions",
        [
            ("Condition", lambda r: r.get("name") or ("No known problems" if r.get("no_known") else "")),
            ("ICD-10-CM", lambda r: r.get("icd10")),
            ("Status", lambda r: r.get("status")),
            ("Onset", lambda r: r.get("onset")),
        ],
    ),
    "allergies": (
        "Allergies",
        [
            ("Substance", lambda r: r.get("substance") or ("No known allergies" if r.get("no_known") else "")),
            ("Reaction", lambda r: r.get("reaction")),
            ("Severity", lambda r: r.get("severity")),
        ],
    ),
    "immunizations": (
        "Immunizations",
        [
            ("Vaccine", lambda r: r.get("vaccine")),
            ("Date", lambda r: r.get("date")),
            ("Status", lambda r: r.get("status")),
        ],
    ),
    "procedures": (
        "Procedures",
        [("Procedure", lambda r: r.get("name")), ("Date", lambda r: r.get("date"))],
    ),
}


@dataclass
class Row:
    key: str  # the record's key in the boxes handed to the page's script
    cells: list[str]
    page: int | None
    marks: list[str]  # "negated", "family history", ...: not the patient's own, or not certain

    @property
    def not_patients(self) -> bool:
        return "negated" in self.marks or "family history" in self.marks


@dataclass
class Table:
    kind: str
    label: str
    headers: list[str]
    rows: list[Row] = field(default_factory=list)


@dataclass
class EncounterView:
    id: str
    type_label: str
    title: str
    pages: list[int]
    dates: str
    provider: str
    facility: str
    date_ambiguous: bool
    tables: list[Table]


@dataclass
class ExtractionView:
    encounters: list[EncounterView]
    # {record key: {"page": n, "boxes": [[x0, y0, x1, y1], ...]}} for the page's script
    boxes: dict[str, dict[str, Any]]
    # the passes found no sign of a clinical record (a paper, a form): they read no record from it
    not_clinical: bool = False


def extraction_view(document: Document) -> ExtractionView:
    extraction = document.extraction or {}
    records = extraction.get("records") or {}
    encounters = [_encounter(e) for e in extraction.get("encounters") or []]
    by_id = {e.id: e for e in encounters}
    boxes: dict[str, dict[str, Any]] = {}
    for kind, (label, columns) in KINDS.items():
        for index, record in enumerate(records.get(kind) or []):
            encounter = by_id.get(record.get("encounter")) or (encounters[0] if encounters else None)
            if encounter is None:
                continue
            table = _table_of(encounter, kind, label, columns)
            key = f"{kind}-{index}"
            cells = [_text(read(record)) for _, read in columns]
            table.rows.append(Row(key, cells, record.get("page"), _marks(record)))
            boxes[key] = {"page": record.get("page"), "boxes": record.get("boxes") or []}
    return ExtractionView(encounters, boxes, not_clinical=extraction.get("document_kind") == "not_clinical")


def _encounter(encounter: dict[str, Any]) -> EncounterView:
    start, end = encounter.get("start_date"), encounter.get("end_date")
    dates = start if start == end or not end else f"{start or '?'} to {end}"
    return EncounterView(
        id=str(encounter.get("id", "")),
        type_label=(encounter.get("type") or "other").replace("_", " ").capitalize(),
        title=encounter.get("title") or "",
        pages=list(encounter.get("pages") or []),
        dates=dates or "",
        provider=encounter.get("provider") or "",
        facility=encounter.get("facility") or "",
        date_ambiguous=bool(encounter.get("date_ambiguous")),
        tables=[],
    )


def _table_of(encounter: EncounterView, kind: str, label: str, columns: list[tuple[str, Any]]) -> Table:
    for table in encounter.tables:
        if table.kind == kind:
            return table
    table = Table(kind, label, [name for name, _ in columns])
    encounter.tables.append(table)
    return table


def _marks(record: dict[str, Any]) -> list[str]:
    marks = ["negated"] if record.get("negated") else []
    for context in record.get("context") or []:
        marks.append("family history" if context == "family" else str(context))
    return marks


def _joined(*parts: Any) -> str:
    return " ".join(str(p) for p in parts if p not in (None, ""))


def _text(value: Any) -> str:
    return "" if value is None else str(value)
