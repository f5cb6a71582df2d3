"""Negation, family history and other context: a mention is kept and marked, never the patient's."""

from processing.engine.passes import run_passes

from .helpers import only, text_page


def test_negated_mentions_are_kept_and_marked():
    # GIVEN a history where the patient denies, has no known, or does not have something
    page = text_page(
        [
            "HISTORY OF PRESENT ILLNESS",
            "He denies chest pain. The patient does not have diabetes. Reports a cough.",
            "ALLERGIES: No known allergies",
        ]
    )
    # WHEN the passes run
    records = run_passes([page])["records"]
    # THEN each negated mention is a record marked negated, and the cough is affirmed
    assert only(records["conditions"], name_normalised="chest pain")["negated"] is True
    diabetes = only(records["conditions"], name_normalised="diabetes mellitus")
    assert diabetes["negated"] is True and diabetes["status"] == "absent"
    assert only(records["conditions"], name_normalised="cough")["negated"] is False
    allergy = only(records["allergies"], no_known=True)
    assert allergy["substance"] is None and allergy["text"] == "No known allergies" and allergy["negated"] is True


def test_family_history_is_kept_but_not_the_patients():
    # GIVEN a family history section and the patient's own problem
    page = text_page(
        [
            "PAST MEDICAL HISTORY",
            "Hypertension",
            "FAMILY HISTORY",
            "Mother with breast cancer. Father had a stroke at 70.",
        ]
    )
    # WHEN the passes run
    conditions = run_passes([page])["records"]["conditions"]
    # THEN the relatives' conditions are there, marked family, and hypertension is the patient's
    stroke = only(conditions, name_normalised="stroke")
    assert "family" in stroke["context"] and stroke["section"] == "family_history"
    assert "family" in only(conditions, name="breast cancer")["context"]
    assert "family" not in only(conditions, name_normalised="hypertension")["context"]


def test_history_and_hypothetical_are_marked():
    # GIVEN a past problem and a warning about a symptom that may come
    page = text_page(["Assessment: History of CHF.", "Instructions: call if you develop fever."])
    # WHEN the passes run
    conditions = run_passes([page])["records"]["conditions"]
    # THEN the abbreviation is expanded, coded, and marked historical; the fever is hypothetical
    chf = only(conditions, name="CHF")
    assert chf["name_normalised"] == "congestive heart failure" and chf["icd10"] == "I50.9"
    assert "historical" in chf["context"]
    assert "hypothetical" in only(conditions, name_normalised="fever")["context"]


def test_refused_vaccine_is_refused_not_given():
    # GIVEN an immunization history with one vaccine given and one refused
    page = text_page(
        [
            "IMMUNIZATIONS",
            "Influenza Virus Vaccine  8/15/2010  Completed",
            "Patient refused Tdap on 11/15/2015",
        ]
    )
    # WHEN the passes run
    immunizations = run_passes([page])["records"]["immunizations"]
    # THEN the given one has its date, the refused one is negated with status refused
    flu = only(immunizations, vaccine_normalised="Influenza")
    assert (flu["date"], flu["status"], flu["cvx"]) == ("2010-08-15", "given", "141")
    tdap = only(immunizations, vaccine_normalised="Tdap/Td")
    assert (tdap["status"], tdap["negated"], tdap["date"]) == ("refused", True, "2015-11-15")


def test_uncertain_and_none_known_statements():
    # GIVEN a suspected diagnosis, a symptom, and statements that there is nothing to list
    page = text_page(
        [
            "ASSESSMENT",
            "Possible pneumonia. Complains of shortness of breath.",
            "PROBLEM LIST: No known problems.",
            "MEDICATIONS: No current medications.",
        ]
    )
    # WHEN the passes run
    records = run_passes([page])["records"]
    # THEN the suspicion is marked uncertain, the symptom is told from a problem, and the
    # 'nothing' statements are negated records naming nothing
    pneumonia = only(records["conditions"], name_normalised="pneumonia")
    assert "uncertain" in pneumonia["context"] and pneumonia["category"] == "problem"
    assert only(records["conditions"], name_normalised="shortness of breath")["category"] == "symptom"
    none = only(records["conditions"], no_known=True)
    assert (none["name"], none["negated"]) == (None, True)
    assert only(records["medications"], no_known=True)["negated"] is True
