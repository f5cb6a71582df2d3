"""Whether a document is a clinical record at all, from evidence a record carries and a paper,
a form or a report does not: a patient banner, clinical section headers, a clinical title.

A document that is not a clinical record is labelled so and yields no record: a computer
science paper's "RR" column or a court transcript's numbers are not vital signs, however well
a reader of vital-sign tables would read them.
"""

import re
from collections.abc import Sequence

from processing.engine.passes import context
from processing.engine.passes.layout import Line
from processing.engine.passes.records import Encounter, Records

CLINICAL_RECORD, NOT_CLINICAL = "clinical_record", "not_clinical"
# Sections only a clinical record has; "results", "plan", "procedures" or "other" open a
# research paper's or a report's sections just as well.
CLINICAL_SECTIONS = frozenset(
    {"allergies", "medications", "problems", "past_history", "family_history", "vitals", "immunizations", "hpi", "exam"}
)
# A labelled identifier of a patient or a visit, as a banner or a header prints it
PATIENT_LABEL = re.compile(
    r"\b(patient(?:'s)?(?: name)?|pt|dob|d\.o\.b|date of birth|birth ?date|mrn|medical record(?: number| no\.?| #)?"
    r"|date of (?:service|visit|admission|discharge)|admission date|discharge date|visit date)\s*[:#]",
    re.IGNORECASE,
)
BANNER_POINTS = 2
ENOUGH = 2


def document_kind(lines: Sequence[Line], encounters: Sequence[Encounter], records: Records) -> str:
    """`CLINICAL_RECORD` when the document shows enough evidence of being one, else `NOT_CLINICAL`.

    Points: a patient banner or a labelled patient or visit identifier, or a record no other
    document prints (`_well_evidenced`) (2), each distinct clinical section header (1), a
    report title of a clinical kind (1), records read under a clinical section or the results
    section (1, however many); two are enough. A paper's "Results" and a lab-like line in it
    make one.
    """
    sections = set()
    labelled = False
    for line in lines:
        header = context.header_category(line)
        if header is not None and header[0] in CLINICAL_SECTIONS:
            sections.add(header[0])
        labelled = labelled or bool(PATIENT_LABEL.search(line.text))
    banner = labelled or any(_identified(e) for e in encounters)
    titled = any(e["title"] and e["type"] != "other" for e in encounters)
    sectioned = any(
        record["section"] in CLINICAL_SECTIONS | {"labs"}
        for found in (records["medications"], records["labs"], records["vitals"], records["conditions"],
                      records["allergies"], records["immunizations"], records["procedures"])
        for record in found
    )  # fmt: skip
    points = BANNER_POINTS * (banner or _well_evidenced(records)) + len(sections) + titled + sectioned
    return CLINICAL_RECORD if points >= ENOUGH else NOT_CLINICAL


def _well_evidenced(records: Records) -> bool:
    """A record no other kind of document prints: a drug with its dose and how it is taken
    ("Lantus 20 units subcutaneously at bedtime"), or a known test with its value, unit and
    reference range."""
    medication = any(m.get("dose_unit") and (m.get("route") or m.get("frequency")) for m in records["medications"])
    lab = any(
        lab["loinc"] and lab["value_num"] is not None and lab["unit"] and lab["reference_range"]
        for lab in records["labs"]
    )
    return medication or lab


def _identified(encounter: Encounter) -> bool:
    patient = encounter["patient"] or {}
    return bool(patient.get("mrn") or (patient.get("name") and patient.get("dob")))
