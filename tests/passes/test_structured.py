"""Structured fields: medication sig, lab value/unit/range/flag, vital signs, read from rows."""

from processing.engine.passes import run_passes

from .helpers import boxed_page, only, text_page


def test_medication_sig_is_split_into_fields():
    # GIVEN a medication line with strength, route and frequency, and one taken as needed
    page = text_page(
        ["MEDICATIONS", "metformin 500 mg PO BID", "Ibuprofen 600mg Oral Tablet  take 1 tablet QID PRN  Active"]
    )
    # WHEN the passes run
    medications = run_passes([page])["records"]["medications"]
    # THEN each field is filled and normalised
    metformin = only(medications, generic="metformin")
    assert metformin["strength"] == "500 mg"
    assert (metformin["route"], metformin["frequency"], metformin["interval_hours"]) == ("oral", "bid", 12.0)
    assert metformin["prn"] is False and metformin["dose"] == 1 and metformin["dose_implied"] is True
    ibuprofen = only(medications, generic="ibuprofen")
    assert (ibuprofen["strength"], ibuprofen["dose"], ibuprofen["dose_unit"]) == ("600 mg", 1, "tablet")
    assert (ibuprofen["form"], ibuprofen["frequency"], ibuprofen["prn"]) == ("tablet", "qid", True)
    assert ibuprofen["status"] == "active"


def test_brand_name_is_normalised_to_generic():
    # GIVEN a brand-name medication outside any medication section, with a sig
    page = text_page(["Continue Lantus 20 units subcutaneously at bedtime."])
    # WHEN the passes run
    medication = only(run_passes([page])["records"]["medications"], name="Lantus")
    # THEN the generic name comes from the drug vocabulary and units are the dose
    assert medication["generic"] == "insulin glargine"
    assert (medication["dose"], medication["dose_unit"], medication["frequency"]) == (20, "units", "qhs")
    assert medication["route"] == "subcutaneous"


def test_lab_result_value_unit_range_and_flag():
    # GIVEN lab results printed as running text, one with a comparator
    page = text_page(["LAB RESULTS", "Hemoglobin A1c 7.2 % (4.0-5.6) H", "Troponin I <0.01 ng/mL (0.00-0.04)"])
    # WHEN the passes run
    labs = run_passes([page])["records"]["labs"]
    # THEN value, unit, range and flag are read, and the code comes from our lab list
    a1c = only(labs, test_normalised="Hemoglobin A1c")
    assert (a1c["value"], a1c["value_num"], a1c["unit"]) == ("7.2", 7.2, "%")
    assert (a1c["reference_range"], a1c["flag"], a1c["loinc"]) == ("4.0-5.6", "H", "4548-4")
    troponin = only(labs, test_normalised="Troponin")
    assert (troponin["comparator"], troponin["value_num"], troponin["unit"]) == ("<", 0.01, "ng/mL")
    assert troponin["flag"] == "N"  # within the printed range, no flag printed


def test_lab_table_is_read_by_its_columns():
    # GIVEN a lab table whose flag column is empty for one row: only the columns say which is which
    page = boxed_page(
        [
            [(200, "LABORATORY"), (580, "RESULTS")],
            [(200, "Test"), (800, "Result"), (1100, "Units"), (1400, "Reference"), (1700, "Range"), (2100, "Flag")],
            [(200, "Sodium"), (800, "131"), (1100, "mmol/L"), (1400, "135-145"), (2100, "L")],
            [(200, "Glucose"), (800, "92"), (1100, "mg/dL"), (1400, "70-99")],
        ]
    )
    # WHEN the passes run
    labs = run_passes([page])["records"]["labs"]
    # THEN each value is paired with its own unit, range and flag, and points at its words
    sodium = only(labs, test_normalised="Sodium")
    assert (sodium["value_num"], sodium["unit"], sodium["reference_range"], sodium["flag"]) == (
        131,
        "mmol/L",
        "135-145",
        "L",
    )
    assert sodium["page"] == 1 and [200, 320, 308, 360] in sodium["boxes"]
    glucose = only(labs, test_normalised="Glucose")
    assert (glucose["value_num"], glucose["flag"]) == (92, "N")


def test_blood_pressure_is_systolic_over_diastolic():
    # GIVEN vitals on one line
    page = text_page(["Vitals: BP 132/84 mmHg, HR 72, Temp 98.6 F, SpO2 97%"])
    # WHEN the passes run
    vitals = run_passes([page])["records"]["vitals"]
    # THEN blood pressure has both numbers and the other vitals their units
    bp = only(vitals, type="blood_pressure")
    assert (bp["systolic"], bp["diastolic"], bp["unit"]) == (132, 84, "mmHg")
    assert only(vitals, type="heart_rate")["value"] == 72
    assert (only(vitals, type="temperature")["value"], only(vitals, type="temperature")["unit"]) == (98.6, "F")
    assert only(vitals, type="spo2")["value"] == 97


def test_vitals_table_with_a_wrapped_header():
    # GIVEN a vitals table whose 'Blood Pressure' header wraps over two rows
    page = boxed_page(
        [
            [(200, "VITAL"), (400, "SIGNS")],
            [(200, "Date"), (700, "Blood"), (1100, "Pulse"), (1400, "Weight")],
            [(700, "Pressure")],
            [(200, "05/20/2014"), (700, "120/80"), (1100, "80"), (1400, "108.8"), (1560, "kg")],
        ]
    )
    # WHEN the passes run
    vitals = run_passes([page])["records"]["vitals"]
    # THEN each value is read under its own column
    assert (only(vitals, type="blood_pressure")["systolic"], only(vitals, type="blood_pressure")["diastolic"]) == (
        120,
        80,
    )
    assert only(vitals, type="heart_rate")["value"] == 80
    assert (only(vitals, type="weight")["value"], only(vitals, type="weight")["unit"]) == (108.8, "kg")


def test_allergy_with_reaction_and_severity():
    # GIVEN an allergy table row
    page = text_page(["ALLERGIES", "Allergen  Reaction  Severity", "Penicillin  Hives  Moderate"])
    # WHEN the passes run
    allergy = only(run_passes([page])["records"]["allergies"], substance="Penicillin")
    # THEN the reaction and severity are read from the same row
    assert (allergy["reaction"], allergy["severity"], allergy["no_known"]) == ("hives", "moderate", False)
