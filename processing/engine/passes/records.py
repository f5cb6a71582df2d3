"""What the extraction passes produce: the encounters and records `run_passes` returns.

    Extraction = {"document_kind": "clinical_record" | "not_clinical", "encounters": [Encounter, ...],
                  "records": Records}
    Records    = {"medications": [Medication, ...], "labs": [Lab, ...], "vitals": [Vital, ...],
                  "conditions": [...], "allergies": [...], "immunizations": [...], "procedures": [...]}

TypedDicts, not dataclasses: the result is stored (`Document.extraction`) and sent (the API,
`manage.py process --json`) as the JSON it is. Each kind of record is its own fields
(`MedicationFields`, ...) followed by the fields every record carries (`RecordFields`): the
order of its keys in the JSON.

"No known allergies", "No current medications" and "No known problems" are records too, with
`no_known: true`, negated, status "none" and no name. The keys marked NotRequired are those
such a record goes without, and, on medications and conditions, `no_known`, which only it has
(every allergy has `no_known`, true or false).
"""

from dataclasses import dataclass
from typing import Generic, NotRequired, TypedDict, TypeVar


class Patient(TypedDict, total=False):
    """The patient banner as printed; a field only when the banner shows it."""

    name: str
    mrn: str
    dob: str  # ISO 8601


class Encounter(TypedDict):
    id: str  # e1, e2, ... in document order
    type: str  # discharge_summary, history_and_physical, progress_note, ..., other (data/document_types.json)
    title: str | None
    pages: list[int]
    start_date: str | None  # ISO 8601, as dates.py reads them
    end_date: str | None  # the start date when no discharge date is printed
    provider: str | None
    facility: str | None
    date_ambiguous: bool  # a date of service that reads both ways (03/04/2015)
    patient: Patient | None


class RecordFields(TypedDict):
    """The fields every record carries, after its own."""

    encounter: str  # the id of the encounter it was read in
    page: int
    boxes: list[list[int]]  # the OCR word boxes it was read from, [x0, y0, x1, y1] in page pixels
    negated: bool
    context: list[str]  # historical, hypothetical, family, uncertain
    section: str  # allergies, medications, problems, labs, vitals, ... or "" before any header
    text: str  # the words of `boxes`


# Each kind of record is its own fields, then RecordFields: the order of its keys in the JSON.


class MedicationFields(TypedDict):
    name: str | None  # as printed; None on a 'no known' record
    no_known: NotRequired[bool]  # True, on a 'no known' record only
    generic: NotRequired[str]
    strength: NotRequired[str | None]  # '500 mg'
    dose: NotRequired[float | None]  # a whole number is an int: 1, not 1.0
    dose_unit: NotRequired[str | None]
    dose_implied: NotRequired[bool]  # no count printed: '20mg by mouth daily' is one unit
    form: NotRequired[str | None]
    route: NotRequired[str | None]
    frequency: NotRequired[str | None]  # bid, qid, q4-6h, ...
    interval_hours: NotRequired[float | None]
    prn: NotRequired[bool]
    status: str | None  # active, refused, ...; 'none' on a 'no known' record
    start_date: NotRequired[str | None]


class Medication(MedicationFields, RecordFields):
    pass


class LabFields(TypedDict):
    test: str
    test_normalised: str
    loinc: str | None  # from our list
    value: str | None  # as printed, with '<' or '>'; a result in words is its words
    value_num: float | None  # a whole number is an int
    comparator: str | None  # <, >, <=, >=, ≤, ≥
    unit: str | None
    reference_range: str | None  # '4.0-5.6', '<200'
    flag: str | None  # H, L, A, N: printed, else from the printed range
    date: str | None


class Lab(LabFields, RecordFields):
    pass


class VitalReading(TypedDict):
    """What a vital's text says, before the row's date is known."""

    type: str  # blood_pressure, heart_rate, temperature, ... (data/vitals.json)
    systolic: float | None  # blood pressure only
    diastolic: float | None
    value: str | float  # '132/84' for blood pressure, else a number (a whole number is an int)
    unit: str | None


class VitalFields(VitalReading):
    date: str | None  # of the row, or of the 'Date / Time' cell the reading is printed under


class Vital(VitalFields, RecordFields):
    pass


class ConditionFields(TypedDict):
    name: str | None  # None on a 'no known' record
    no_known: NotRequired[bool]  # True, on a 'no known' record only
    name_normalised: NotRequired[str]
    icd10: NotRequired[str | None]
    category: NotRequired[str]  # symptom (ICD-10-CM chapter R) or problem
    status: str  # active, resolved, historical, absent, ...; 'none' on a 'no known' record
    onset: NotRequired[str | None]


class Condition(ConditionFields, RecordFields):
    pass


class AllergyFields(TypedDict):
    substance: str | None  # None on a 'no known' record
    substance_normalised: NotRequired[str]
    no_known: bool  # on every allergy: False, or True on a 'no known' record
    reaction: str | None  # on a 'no known' record, after the fields every record carries
    severity: str | None  # likewise
    status: str  # active, inactive; 'none' on a 'no known' record


class Allergy(AllergyFields, RecordFields):
    pass


class ImmunizationFields(TypedDict):
    vaccine: str
    vaccine_normalised: str
    cvx: str | None
    date: str | None
    date_ambiguous: bool
    status: str  # given or refused


class Immunization(ImmunizationFields, RecordFields):
    pass


class ProcedureFields(TypedDict):
    name: str
    name_normalised: str
    date: str | None


class Procedure(ProcedureFields, RecordFields):
    pass


class Records(TypedDict):
    medications: list[Medication]
    labs: list[Lab]
    vitals: list[Vital]
    conditions: list[Condition]
    allergies: list[Allergy]
    immunizations: list[Immunization]
    procedures: list[Procedure]


RECORD_KINDS: tuple[str, ...] = tuple(Records.__annotations__)  # medications, labs, ... in this order


class Extraction(TypedDict):
    # clinical_record, or not_clinical (a paper, a form, a letter of no patient: no encounter and
    # no record is read from it); "" for a document the passes have not run on
    document_kind: str
    encounters: list[Encounter]
    records: Records


Item = TypeVar("Item")


@dataclass
class Placed(Generic[Item]):
    """A record or an encounter while the passes run, with the index of the document line it was
    read from (or starts at): the line orders the records and finds each one's encounter, and is
    no part of the JSON."""

    line: int
    item: Item
