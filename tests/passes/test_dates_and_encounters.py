"""Dates honour the configured day/month order; a stitched record splits into its encounters."""

from typing import Any

from processing.engine.passes import dates, run_passes

from .helpers import text_page


def test_ambiguous_date_follows_the_configured_order_and_is_marked():
    # GIVEN a date that reads either way, and one that does not
    # WHEN it is read month-first, then day-first
    us, european = dates.parse_date("03/04/2015", "MDY"), dates.parse_date("03/04/2015", "DMY")
    # THEN each order gives its date and both are marked ambiguous
    assert us is not None and (us.iso, us.ambiguous) == ("2015-03-04", True)
    assert european is not None and (european.iso, european.ambiguous) == ("2015-04-03", True)
    # and 13/04 can only be 13 April, whatever the order
    assert dates.parse_date("13/04/2015", "MDY") == dates.FoundDate("2015-04-13", False, 0, 10, "13/04/2015")
    assert iso_of("seen on 03/04", "DMY") == "--04-03"
    assert iso_of("Dec-18-2013") == "2013-12-18"


def iso_of(text: str, order: str | None = None) -> str | None:
    found = dates.parse_date(text, order)
    return found.iso if found else None


def test_encounter_date_order_comes_from_run_passes():
    # GIVEN a report dated 03/04/2015
    page = text_page(["PROGRESS NOTE", "Date of Service: 03/04/2015"])
    # WHEN the passes run day-first
    encounter = run_passes([page], date_order="DMY")["encounters"][0]
    # THEN the encounter date is 3 April and is marked ambiguous
    assert (encounter["start_date"], encounter["date_ambiguous"]) == ("2015-04-03", True)


def stitched_record() -> list[dict[str, Any]]:
    """A discharge summary (2 pages, 'Page i of 2') then a lab report of another date."""
    return [
        text_page(
            [
                "DISCHARGE SUMMARY",
                "Patient: Maria Lopez   DOB: 03/14/1961   MRN: 204511",
                "Admission Date: 02/01/2024   Discharge Date: 02/05/2024",
                "Attending: Dr. Ada Wells, MD",
                "Facility: Riverside Hospital",
                "DISCHARGE MEDICATIONS",
                "Lisinopril 10 mg PO daily",
                "Page 1 of 2",
            ],
            1,
        ),
        text_page(
            ["Patient: Maria Lopez   DOB: 03/14/1961   MRN: 204511", "DISCHARGE DIAGNOSES", "Pneumonia", "Page 2 of 2"],
            2,
        ),
        text_page(
            [
                "LABORATORY REPORT",
                "Patient: Maria Lopez   DOB: 03/14/1961   MRN: 204511",
                "Collected: 03/10/2024",
                "Performed at: Valley Labs",
                "Sodium 139 mmol/L 135-145",
                "Page 1 of 1",
            ],
            3,
        ),
    ]


def test_stitched_record_splits_into_its_encounters():
    # GIVEN two reports of one patient stitched into one file
    # WHEN the passes run
    result = run_passes(stitched_record())
    # THEN there are two encounters with their pages, types, dates, people and places
    first, second = result["encounters"]
    assert (first["type"], first["pages"], second["type"], second["pages"]) == (
        "discharge_summary",
        [1, 2],
        "lab_report",
        [3],
    )
    assert (first["start_date"], first["end_date"]) == ("2024-02-01", "2024-02-05")
    assert (first["provider"], first["facility"]) == ("Dr. Ada Wells, MD", "Riverside Hospital")
    assert first["patient"] == {"mrn": "204511", "dob": "1961-03-14", "name": "Maria Lopez"}
    assert (second["start_date"], second["facility"]) == ("2024-03-10", "Valley Labs")
    # and every record points at the encounter it was printed in
    records = result["records"]
    assert records["medications"][0]["encounter"] == first["id"]
    assert records["conditions"][0]["encounter"] == first["id"]
    assert records["labs"][0]["encounter"] == second["id"]


def test_a_report_that_starts_mid_page():
    # GIVEN a note that ends on a page where the next report begins, without page numbers
    pages = [
        text_page(["PROGRESS NOTE", "Date of Service: 01/05/2023", "Assessment: asthma"], 1),
        text_page(
            [
                "Plan: albuterol 90 mcg inhaler 2 puffs q4h prn",
                "Electronically signed by Dr. Samir Kahn, MD",
                "RADIOLOGY REPORT",
                "Exam Date: 01/09/2023",
                "Chest x-ray: no acute process.",
            ],
            2,
        ),
    ]
    # WHEN the passes run
    encounters = run_passes(pages)["encounters"]
    # THEN page 2 holds the end of the first encounter and the start of the second
    assert [(e["type"], e["pages"], e["start_date"]) for e in encounters] == [
        ("progress_note", [1, 2], "2023-01-05"),
        ("imaging_report", [2], "2023-01-09"),
    ]


def test_untitled_visits_split_on_their_date_of_service():
    # GIVEN two visit notes with no title and no page numbers, one page each
    pages = [
        text_page(["Patient: Maria Lopez", "Date of Service: 01/05/2023", "Assessment: asthma"], 1),
        text_page(["Patient: Maria Lopez", "Date of Service: 02/11/2023", "Assessment: asthma, improved"], 2),
        text_page(["Patient: Maria Lopez", "LABS", "Date: 02/12/2023", "Sodium 139 mmol/L"], 3),
    ]
    # WHEN the passes run
    encounters = run_passes(pages)["encounters"]
    # THEN a new visit starts where the date of service changes, not at a dated table
    assert [(e["pages"], e["start_date"]) for e in encounters] == [([1], "2023-01-05"), ([2, 3], "2023-02-11")]
