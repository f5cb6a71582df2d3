"""The evaluation's answer key and scoring, on one C-CDA example (no OCR)."""

from pathlib import Path

from processing.passes.evaluation import ccda, corpus
from processing.passes.evaluation.score import Negation, Tally, score_document

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
