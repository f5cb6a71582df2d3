"""The shape of what run_passes returns: the TypedDicts of records.py, and nothing more."""

from collections.abc import Mapping
from typing import Any

from processing.engine.passes import run_passes
from processing.engine.passes.records import (
    RECORD_KINDS,
    Allergy,
    Condition,
    Encounter,
    Immunization,
    Lab,
    Medication,
    Procedure,
    RecordFields,
    Vital,
)

from .helpers import text_page

SHAPES: dict[str, Any] = {  # kind -> its TypedDict
    "medications": Medication,
    "labs": Lab,
    "vitals": Vital,
    "conditions": Condition,
    "allergies": Allergy,
    "immunizations": Immunization,
    "procedures": Procedure,
}
EVERY_KIND = text_page(
    [
        "PROGRESS NOTE",
        "Patient: John Smith    MRN: 123456    DOB: 01/02/1960",
        "Date of service: 03/14/2023",
        "MEDICATIONS",
        "metformin 500 mg PO BID",
        "No current medications.",
        "ALLERGIES",
        "Penicillin - hives, moderate",
        "NKDA",
        "PROBLEMS",
        "Hypertension, active",
        "No known problems",
        "IMMUNIZATIONS",
        "Influenza vaccine 10/01/2022",
        "PROCEDURES",
        "Appendectomy 2010",
        "VITAL SIGNS",
        "BP 132/84 mmHg, HR 72",
        "LAB RESULTS",
        "Hemoglobin A1c 7.2 % (4.0-5.6) H",
    ]
)


def test_every_record_has_the_keys_its_kind_declares_and_no_other():
    # GIVEN a document with every kind of record, 'no known' statements among them
    # WHEN the passes run
    records: Mapping[str, Any] = run_passes([EVERY_KIND])["records"]
    # THEN every kind is there, in order, and each record has all its kind's required keys, no
    # undeclared one and nothing private
    assert tuple(records) == RECORD_KINDS == tuple(SHAPES)
    for kind, shape in SHAPES.items():
        assert records[kind], f"no {kind} read"
        for record in records[kind]:
            keys = set(record)
            assert shape.__required_keys__ <= keys <= shape.__required_keys__ | shape.__optional_keys__, record
            assert not [key for key in keys if key.startswith("_")]
            assert record["encounter"] == "e1"


def test_a_records_own_fields_come_before_those_every_record_carries():
    # GIVEN the same document
    # WHEN the passes run
    records: Mapping[str, Any] = run_passes([EVERY_KIND])["records"]
    # THEN the fields every record carries close each record, in their order; only a 'no known
    # allergies' record has its reaction and severity after them, as its JSON always had
    common = list(RecordFields.__annotations__)
    for kind in RECORD_KINDS:
        for record in records[kind]:
            keys = list(record)
            if kind == "allergies" and record["no_known"]:
                assert keys[-2:] == ["reaction", "severity"]
                keys = keys[:-2]
            assert keys[-len(common) :] == common, record


def test_an_encounter_has_every_key_of_its_shape_and_its_patient_as_printed():
    # GIVEN the same document, its banner naming the patient
    # WHEN the passes run
    encounters = run_passes([EVERY_KIND])["encounters"]
    # THEN the encounter carries exactly the keys of Encounter, no line index among them
    assert [set(e) for e in encounters] == [set(Encounter.__required_keys__)]
    assert encounters[0]["patient"] == {"mrn": "123456", "dob": "1960-01-02", "name": "John Smith"}
