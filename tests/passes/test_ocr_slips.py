"""Tables and values as OCR really reads them: 'O' read as zero, run-on or broken header words,
units split or misread, a value cell wrapped onto the next line, a leading point lost."""

from processing.engine.passes import run_passes

from .helpers import boxed_page, cells_page, only, text_page


def test_vitals_table_read_despite_header_slips():
    # GIVEN a vitals table whose header OCR read 'O2' as '02' and broke 'TemperatureRespiratory'
    # at the wrong letter, and whose blood pressure ran into the pulse ('120/80mm[Hg]80')
    page = boxed_page(
        [
            [(200, "VITAL"), (400, "SIGNS")],
            [(200, "Date"), (500, "Blood"), (780, "Pulse"), (950, "TemperatureR"), (1180, "espiratory"),
             (1500, "SpO2"), (1700, "02")],
            [(500, "Pressure"), (1180, "Rate"), (1700, "Concentration")],
            [(200, "05/20/2014"), (560, "120/80mm[Hg]80"), (950, "37.2C"), (1180, "18"), (1230, "/min"),
             (1500, "98%"), (1700, "36%")],
        ]
    )  # fmt: skip
    # WHEN the passes run
    vitals = run_passes([page])["records"]["vitals"]
    # THEN every column is read, with its unit and the row's date
    assert only(vitals, type="blood_pressure")["value"] == "120/80"
    assert only(vitals, type="heart_rate")["value"] == 80
    assert (only(vitals, type="temperature")["value"], only(vitals, type="temperature")["unit"]) == (37.2, "C")
    assert only(vitals, type="respiratory_rate")["value"] == 18
    assert only(vitals, type="spo2")["value"] == 98
    concentration = only(vitals, type="oxygen_concentration")
    assert (concentration["value"], concentration["unit"], concentration["date"]) == (36, "%", "2014-05-20")


def test_run_on_header_of_several_names_and_units_wrapped_below():
    # GIVEN a header whose systolic, diastolic and heart rate columns OCR ran into one word,
    # the readings under them, and units wrapped onto the row below ('kg/m²' read 'kg/m?')
    page = boxed_page(
        [
            [(200, "VITAL"), (400, "SIGNS")],
            [(200, "Date"), (500, "BP-Sys(mm[Hg])BP-Dia(mm[Hg])HR(bpm)"), (1400, "WT"), (1600, "BMI")],
            [(200, "1/21/2013"), (500, "130"), (750, "84"), (810, "mmHg"), (1400, "162"), (1600, "23.2")],
            [(1400, "Ibs"), (1600, "kg/m?")],
        ]
    )
    # WHEN the passes run
    vitals = run_passes([page])["records"]["vitals"]
    # THEN the two pressure columns make one blood pressure, and the units are read and normalised
    pressure = only(vitals, type="blood_pressure")
    assert (pressure["systolic"], pressure["diastolic"], pressure["date"]) == (130, 84, "2013-01-21")
    assert (only(vitals, type="weight")["value"], only(vitals, type="weight")["unit"]) == (162, "lb")
    assert (only(vitals, type="bmi")["value"], only(vitals, type="bmi")["unit"]) == (23.2, "kg/m2")


def test_same_reading_on_two_dates_is_two_vitals():
    # GIVEN a vitals grid with a 'Date / Time' row over two columns of readings, the same height in both
    page = cells_page(
        [
            (200, [(200, "VITAL SIGNS")]),
            (260, [(200, "Date / Time:"), (1000, "Nov 1, 2011"), (1600, "August 6, 2012")]),
            (320, [(200, "Height"), (1000, "69 inches"), (1600, "69 inches")]),
        ]
    )
    # WHEN the passes run
    heights = [v for v in run_passes([page])["records"]["vitals"] if v["type"] == "height"]
    # THEN both readings are kept, each dated by the column it is printed under
    assert [(v["value"], v["unit"], v["date"]) for v in heights] == [(69, "in", "2011-11-01"), (69, "in", "2012-08-06")]


def test_lab_names_and_units_misread_by_ocr():
    # GIVEN lab rows where OCR read 'CO2' as 'C02', ']' as 'J', split 'x10E3/uL' and lost the point of '.01'
    page = text_page(
        [
            "LAB RESULTS",
            "C02 24 mmol/L (23-29)",
            "TSH 6 m[IUJ/L (abnormal)",
            "WBC 8.90 x10E 3/uL",
            "Troponin T 01 ng/mL",
        ]
    )
    # WHEN the passes run
    labs = run_passes([page])["records"]["labs"]
    # THEN the tests are found and their values and units read as printed
    co2 = only(labs, test_normalised="CO2")
    assert (co2["test"], co2["value_num"], co2["unit"], co2["flag"]) == ("C02", 24, "mmol/L", "N")
    tsh = only(labs, test_normalised="TSH")
    assert (tsh["value_num"], tsh["unit"], tsh["flag"]) == (6, "m[IU]/L", "A")
    assert only(labs, test_normalised="WBC")["unit"] == "x10E3/uL"
    troponin = only(labs, test_normalised="Troponin")
    assert (troponin["value"], troponin["value_num"], troponin["unit"]) == (".01", 0.01, "ng/mL")


def test_value_cell_wrapped_onto_the_next_line_and_text_results():
    # GIVEN a results table where a result in words and a unit wrapped onto a line just below
    # their row, and an imaging row whose result is a report in words
    page = cells_page(
        [
            (200, [(200, "RESULTS")]),
            (260, [(200, "Test Name"), (800, "Results"), (1400, "Reference Range")]),
            (320, [(200, "Antinuclear Antibodies,"), (800, "Borderline, equal to"), (1400, "Negative: <1:80")]),
            (370, [(200, "IFA"), (800, "1:80"), (1400, ">1:80")]),
            (440, [(200, "Platelet count"), (800, "152"), (1400, "150-400")]),
            (490, [(800, "THOUS/MCL")]),
            (560, [(200, "Chest X-Ray 2 Views"), (800, "The lungs are clear. The heart is enlarged")]),
        ]
    )
    # WHEN the passes run
    labs = run_passes([page])["records"]["labs"]
    # THEN the wrapped words complete their cell, and are not read as a row of their own
    assert only(labs, test_normalised="Antinuclear antibodies")["value"] == "Borderline, equal to 1:80"
    platelets = only(labs, test_normalised="Platelets")
    assert (platelets["value_num"], platelets["unit"], platelets["flag"]) == (152, "THOUS/MCL", "N")
    xray = only(labs, test="Chest X-Ray 2 Views")
    assert (xray["value"], xray["unit"]) == ("The lungs are clear. The heart is enlarged", None)
    assert len(labs) == 3


def test_no_known_allergies_is_negated():
    # GIVEN 'NKDA' printed on the allergies heading line
    page = text_page(["ALLERGIES: NKDA"])
    # WHEN the passes run
    allergy = only(run_passes([page])["records"]["allergies"], no_known=True)
    # THEN it is a 'no known allergies' record, negated: no substance is the patient's
    assert (allergy["substance"], allergy["negated"], allergy["status"]) == (None, True, "none")
