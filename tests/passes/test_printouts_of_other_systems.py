"""What other record systems print: ranges in words, vitals one column per date, run-together
headers, UCUM units, noisy units and letters that write a table out as sentences."""

from processing.engine.passes import run_passes

from .helpers import cells_page, only, text_page

BANNER = "Patient: Maria Lopez   DOB: 03/14/1961   MRN: 204511"


def test_a_range_in_words_belongs_to_the_result_on_its_row() -> None:
    # GIVEN results whose reference ranges are written in words beside them
    page = cells_page(
        [
            (100, [(200, BANNER)]),
            (200, [(200, "LAB RESULTS")]),
            (260, [(200, "Test"), (800, "Result"), (1300, "Comment")]),
            (
                320,
                [
                    (200, "WBC"),
                    (800, "6.7 10*9/L_"),
                    (1300, "Normal white blood cell count range 3.5-10.5 billion cells/L"),
                ],
            ),
            (380, [(200, "Hemoglobin"), (800, "11.2 g/dL"), (1300, "Normal range for women is 12.0 to 15.5")]),
            (440, [(200, "Troponin T"), (800, "0.01"), (1300, "Normal troponin t range 0.0-0.10 ng/mL")]),
        ]
    )
    # WHEN the passes run
    labs = run_passes([page])["records"]["labs"]
    # THEN there are three results, each with its range (and the range's unit when it prints
    # none of its own), and the unit's OCR noise is gone; no range is a result
    assert len(labs) == 3
    wbc = only(labs, test="WBC")
    assert (wbc["value_num"], wbc["unit"], wbc["reference_range"], wbc["flag"]) == (6.7, "10*9/L", "3.5-10.5", "N")
    hemoglobin = only(labs, test="Hemoglobin")
    assert (hemoglobin["reference_range"], hemoglobin["flag"]) == ("12.0-15.5", "L")
    troponin = only(labs, test="Troponin T")
    assert (troponin["value_num"], troponin["unit"], troponin["reference_range"]) == (0.01, "ng/mL", "0.0-0.10")


def test_vitals_one_column_per_date_each_cell_with_its_date() -> None:
    # GIVEN a vitals table: a header row of dates, then one row per measurement
    page = cells_page(
        [
            (100, [(200, BANNER)]),
            (200, [(200, "VITAL SIGNS")]),
            (260, [(200, "Vital Sign"), (800, "Nov 1, 2011"), (1300, "August 6, 2012"), (1800, "03/02/2013")]),
            (320, [(200, "Height"), (800, "69 inches"), (1300, "69 inches"), (1800, "70 inches")]),
            (380, [(200, "Weight"), (800, "189 lbs"), (1300, "194 lbs"), (1800, "191 lbs")]),
            (440, [(200, "Blood Pressure"), (800, "132/86 mmHg"), (1300, "145/88 mmHg"), (1800, "128/80 mmHg")]),
        ]
    )
    # WHEN the passes run
    vitals = run_passes([page])["records"]["vitals"]
    # THEN every cell is a measurement dated by its column
    pressures = {v["date"]: v["value"] for v in vitals if v["type"] == "blood_pressure"}
    assert pressures == {"2011-11-01": "132/86", "2012-08-06": "145/88", "2013-03-02": "128/80"}
    assert {v["date"]: v["value"] for v in vitals if v["type"] == "weight"} == {
        "2011-11-01": 189, "2012-08-06": 194, "2013-03-02": 191,
    }  # fmt: skip


def test_run_together_header_names_and_ucum_units() -> None:
    # GIVEN a vitals table whose header names are run together in camel case, units in UCUM
    page = cells_page(
        [
            (100, [(200, BANNER)]),
            (200, [(200, "VITAL SIGNS")]),
            (
                260,
                [(200, "Date:Time"), (600, "RespiratoryRate /min"), (1100, "HeartRate /min"), (1600, "Height [in_us]")],
            ),
            (320, [(200, "2014-01-01"), (600, "16"), (1100, "72"), (1600, "64 [in_us]")]),
        ]
    )
    # WHEN the passes run
    vitals = run_passes([page])["records"]["vitals"]
    # THEN each column is its vital, and the UCUM inch is inches
    assert only(vitals, type="respiratory_rate")["value"] == 16
    assert only(vitals, type="heart_rate")["value"] == 72
    assert (only(vitals, type="height")["value"], only(vitals, type="height")["unit"]) == (64, "in")


def test_a_letter_writes_readings_after_their_dates() -> None:
    # GIVEN a clinic letter's vital signs, a sentence per measurement
    page = text_page(
        [
            BANNER,
            "Vital Signs",
            "Weight - Nov 1, 2011: 189 lbs; August 6, 2012: 194 lbs.",
            "Allergies, Adverse Reactions and Alerts",
            "Codeine - Reaction: Shortness of Breath; Status: Active.",
        ]
    )
    # WHEN the passes run
    records = run_passes([page])["records"]
    # THEN each reading has its date, and the title-case heading opened the allergies section
    assert {v["date"]: v["value"] for v in records["vitals"]} == {"2011-11-01": 189, "2012-08-06": 194}
    assert only(records["allergies"], substance="Codeine")["section"] == "allergies"


def test_functional_status_rows_and_goals_are_not_conditions() -> None:
    # GIVEN a problem list, a functional status table and a goal naming conditions
    page = text_page(
        [
            BANNER,
            "PROBLEMS",
            "Asthma - Status: Active",
            "FUNCTIONAL STATUS",
            "Memory impairment - Status: Active",
            "PLAN OF CARE",
            "Goal: weight loss; asthma control",
        ]
    )
    # WHEN the passes run
    conditions = run_passes([page])["records"]["conditions"]
    # THEN only the problem list's asthma is a condition
    assert [c["name"] for c in conditions] == ["Asthma"]


def test_a_speck_read_as_a_cell_does_not_hide_the_reading_after_it() -> None:
    # GIVEN a scanned vitals table where OCR read specks as cells between names and readings
    page = cells_page(
        [
            (100, [(200, BANNER)]),
            (200, [(200, "VITAL SIGNS")]),
            (260, [(200, "Vital Sign"), (900, "05/20/2014")]),
            (320, [(200, "Blood Pressure"), (700, "3"), (900, "\u2014120/80 mmHg")]),
            (380, [(200, "Respiratory Rate"), (700, "2,"), (900, "18 /min")]),
            (440, [(200, "BMI"), (700, "7."), (900, "37.58 kgim2")]),
        ]
    )
    # WHEN the passes run
    vitals = run_passes([page])["records"]["vitals"]
    # THEN each reading is the one under the date, not the speck
    assert only(vitals, type="blood_pressure")["value"] == "120/80"
    assert only(vitals, type="respiratory_rate")["value"] == 18
    bmi = only(vitals, type="bmi")
    assert (bmi["value"], bmi["unit"], bmi["date"]) == (37.58, "kg/m2", "2014-05-20")
