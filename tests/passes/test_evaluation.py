"""The evaluation's answer key and scoring, on one C-CDA example (no OCR)."""

from pathlib import Path

from evaluation import ccda, corpus
from evaluation.score import Negation, Tally, score_document

DATA = Path(__file__).parents[1] / "data" / "medcorpus"
EXAMPLE = "hl7_ccda_examples/Medications_Med_oral_QID_with_PRN_Med_oral_QID_with_PRN(C-CDA2.1).xml"


def test_answer_key_comes_from_the_coded_entries():
    # GIVEN the HL7 example of a QID PRN medication
    root, ids = ccda.load(DATA / EXAMPLE)
    # WHEN its coded entries and narrative are read
    gold = ccda.gold_entries(root, ids)["medications"]
    blocks = ccda.narrative_blocks(root)
    # THEN the key has the printed name, the dose and the 6-hour period, and the table is printable
    assert gold == [
        {
            "name": "Ibuprofen 600mg Oral Tablet",
            "coded": "ibuprofen 600 MG Oral Tablet",
            "negated": False,
            "date": "2013-12-18",
            "code": "197806",
            "dose": 1.0,
            "interval_hours": 6.0,
        }
    ]
    table = next(b for b in blocks if b.kind == "table")
    assert table.header[0] == "Medication" and table.rows[0][0] == "Ibuprofen 600mg Oral Tablet"


def test_scoring_counts_matches_fields_and_misses():
    # GIVEN the key and a prediction right on the name and dose but wrong on frequency
    document = corpus._from_ccda(DATA / EXAMPLE)
    predicted = {"name": "Ibuprofen", "generic": "ibuprofen", "dose": 1, "interval_hours": 12.0}
    predicted.update(negated=False, text="Ibuprofen 600mg Oral Tablet")
    tallies: dict[str, Tally] = {}
    # WHEN the document is scored
    score_document(document.gold, {"medications": [predicted]}, tallies, Negation(), "example")
    # THEN it is a true positive with the dose right and the frequency wrong
    medications = tallies["medications"]
    assert (medications.tp, medications.fp, medications.fn) == (1, 0, 0)
    assert dict(medications.fields) == {"dose": [1, 1], "frequency": [0, 1]}


def test_key_reads_a_non_ucum_unit_and_no_known_allergies_as_negated():
    # GIVEN the HL7 examples of a result in a non-UCUM unit and of 'no known allergies'
    # WHEN their coded entries are read
    root, ids = ccda.load(DATA / "hl7_ccda_examples/Results_Results_Unit_Non-UCUM_Results_Unit_Non-UCUM(C-CDA2.1).xml")
    lab = ccda.gold_entries(root, ids)["labs"][0]
    root, ids = ccda.load(
        DATA / "hl7_ccda_examples/Allergies_No_Known_Allergies_No_Known_Allergies_with_Author_Timestamp(C-CDA2.1).xml"
    )
    allergy = ccda.gold_entries(root, ids)["allergies"][0]
    # THEN the value is the translation's and the unit the lab's, and 'no known allergies' is negated
    assert (lab["value"], lab["unit"]) == (152.0, "THOUS/MCL")
    assert (allergy["name"], allergy["negated"]) == ("no known allergies", True)


def test_unit_spellings_of_one_quantity_match_and_different_units_do_not():
    # GIVEN a platelet count coded in UCUM '10*3/uL', and two predictions: the lab's own spelling
    # of the same unit, and the right number in another unit
    gold = {"labs": [{"name": "Platelets", "coded": "", "negated": False, "value": 152.0, "unit": "10*3/uL"}]}
    base = {"test": "Platelets", "test_normalised": "Platelets", "value": "152", "value_num": 152, "negated": False}
    same = {**base, "unit": "THOUS/MCL", "text": "Platelets 152 THOUS/MCL"}
    other = {**base, "unit": "mmol/L", "text": "Platelets 152 mmol/L"}
    # WHEN each is scored
    tallies_same: dict[str, Tally] = {}
    tallies_other: dict[str, Tally] = {}
    score_document(gold, {"labs": [same]}, tallies_same, Negation(), "example")
    score_document(gold, {"labs": [other]}, tallies_other, Negation(), "example")
    # THEN only the same quantity counts as value and unit right
    assert tallies_same["labs (value+unit)"].tp == 1 and tallies_same["labs"].fields["unit"] == [1, 1]
    assert tallies_other["labs (value+unit)"].tp == 0 and tallies_other["labs"].fields["unit"] == [0, 1]
