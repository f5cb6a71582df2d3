"""Pass 0.5: split a record into encounters (visits, reports) by what a printout shows.

A new encounter starts where a page says "Page 1 of N", where the patient banner changes,
where a report title appears at the top of a page that does not continue the previous
report, or, mid-page, where a report title follows an end-of-report or signature line.
"""

import re
from dataclasses import dataclass, field
from typing import Literal

from processing.engine.passes import context, dates, vocabulary
from processing.engine.passes.layout import Line
from processing.engine.passes.records import Encounter, Patient, Placed

PAGE_OF = re.compile(r"\bpage\s*(\d{1,3})\s*(?:of|/)\s*(\d{1,3})\b", re.I)
END_OF_REPORT = re.compile(
    r"(end of (report|document|note|summary)|electronically signed|signed electronically|"
    r"^\s*signed( by)?:|dictated by|\(end of report\)|\*\*\*\s*end)",
    re.I,
)
MRN = re.compile(
    r"\b(?:mrn|medical record (?:number|no\.?|#)|patient id|chart (?:no\.?|#))\s*[:#]?\s*([A-Z0-9\-]{3,})", re.I
)
DOB = re.compile(r"\b(?:dob|date of birth|birth ?date|born)\s*[:#]?\s*", re.I)
PATIENT = re.compile(r"\b(?i:patient(?: name)?|name)\s*:\s*([A-Z][A-Za-z'\-]+(?:,?\s+[A-Z][A-Za-z'.\-]*){0,3})")
PERSON = r"((?:Dr\.?\s+)?[A-Z][A-Za-z'.\-]+(?:\s+[A-Z][A-Za-z'.\-]*){0,3}(?:,?\s*(?:MD|DO|NP|PA|RN|PA-C|M\.D\.))?)"
PROVIDER = re.compile(
    rf"\b(?:provider|attending(?: physician)?|physician|author|seen by|signed by|performed by|surgeon|"
    rf"referring provider|rendering provider|ordering provider|authored by)\s*:?\s*{PERSON}",
    re.I,
)
FACILITY = re.compile(r"\b(?:facility|location|hospital|clinic|organization|custodian|performed at)\s*:\s*(.+)", re.I)
FACILITY_NAME = re.compile(
    r"\b([A-Z][A-Za-z'&\-]*(?:\s+[A-Z][A-Za-z'&\-]*){0,5}\s+(?:Hospital|Medical Center|Clinic|Health System|"
    r"Healthcare|Urgent Care|Health Center|Laboratory|Labs|Medical Group|Rehab Hospital))\b"
)
START_LABELS = re.compile(
    r"\b(date of service|dos|service date|visit date|date of visit|encounter date|admission date|admit date|"
    r"date of admission|admitted|procedure date|date of procedure|report date|collected|exam date|"
    r"date of encounter|document date|date)\b\s*:?\s*",
    re.I,
)
# The labels that head a visit (not 'Date:' or 'Collected:', which a table inside a note has)
VISIT_LABELS = re.compile(
    r"\b(date of service|dos|service date|visit date|date of visit|encounter date|admission date|"
    r"date of admission|exam date|report date|date of encounter)\b\s*:?\s*",  # 'dos', not 'dose'
    re.I,
)
END_LABELS = re.compile(r"\b(discharge date|date of discharge|discharged)\s*:?\s*", re.I)
TOP = 0.3  # a title counts near the top: the first 30% of the page, or its first 6 lines


# The banner fields that tell one patient from another, when both banners print them.
PATIENT_KEYS: tuple[Literal["mrn", "dob", "name"], ...] = ("mrn", "dob", "name")


@dataclass
class _Opening:
    """Where an encounter starts, and what its first page says of it."""

    start: int  # index of its first line in the document
    type: str
    title: str
    patient: Patient = field(default_factory=Patient)
    date: str | None = None  # of service, as found on its first page


def find_encounters(lines: list[Line]) -> list[Placed[Encounter]]:
    """Encounters, in order, each placed at the index of the line it starts at."""
    pages: dict[int, list[int]] = {}
    for index, line in enumerate(lines):
        pages.setdefault(line.page, []).append(index)
    found: list[_Opening] = []
    previous_ended = False
    for number in sorted(pages):
        indexes = pages[number]
        page = [lines[i] for i in indexes]
        position, _total = _page_of(page)
        title, title_at = _title(page, top_only=True)
        patient = _patient(page)
        current = found[-1] if found else None
        start = current is None or position == 1
        if current is not None and not start:
            changed_patient = bool(patient and current.patient and _differs(patient, current.patient))
            continues = position is not None and position > 1
            new_report = title is not None and (
                title[0] != current.type or _norm(title[1]) != _norm(current.title) or previous_ended
            )
            # a page headed with another date of service is another visit, title or not
            top = page[:8]
            ends = [k for k, line in enumerate(top) if END_OF_REPORT.search(line.text)]
            page_date = _visit_date(top[: ends[0]] if ends else top)  # after an end line: mid-page rule
            new_date = bool(page_date and current.date and page_date != current.date)
            start = changed_patient or (not continues and (new_report or new_date))
        if start:
            kind, text = title or ("other", "")
            found.append(_Opening(indexes[title_at] if title else indexes[0], kind, text, patient))
            found[-1].date = _service_dates(page[title_at if title else 0 :][:40])[0]
        elif current is not None and patient and not current.patient:
            current.patient = patient
        # mid-page: a title after an end-of-report line starts the next report on this page
        ended_at = None
        for k, line in enumerate(page):
            if END_OF_REPORT.search(line.text):
                ended_at = k
            elif ended_at is not None and k > ended_at:
                mid = _title_line(line, anywhere=_big(line, page) or line.text.isupper())
                if mid is not None and found[-1].start != indexes[k]:
                    found.append(_Opening(indexes[k], mid[0], mid[1], _patient(page[k:])))
                    found[-1].date = _service_dates(page[k : k + 40])[0]
                    ended_at = None
        previous_ended = ended_at is not None
    return [_describe(e, n, lines, found) for n, e in enumerate(found)]


def _norm(title: str) -> str:
    return " ".join(re.findall(r"[a-z0-9]+", title.lower()))


def _page_of(page: list[Line]) -> tuple[int | None, int | None]:
    for line in page:
        match = PAGE_OF.search(line.text)
        if match:
            return int(match.group(1)), int(match.group(2))
    return None, None


def _title_line(line: Line, anywhere: bool = False) -> tuple[str, str] | None:
    """The report type a short line names: 'DISCHARGE SUMMARY', or with `anywhere` (a line
    printed large or in capitals) 'MU2 Clinical Visit Summary'."""
    tokens = tuple(t.lower for t in line.tokens if t.lower not in (":", "-", "|"))
    if not tokens or len(tokens) > 9:
        return None
    for phrase, kind in vocabulary.document_types():
        if tokens[: len(phrase)] == phrase and len(tokens) - len(phrase) <= 3:
            return kind, line.text
    if anywhere:
        for phrase, kind in vocabulary.document_types():
            for i in range(1, len(tokens) - len(phrase) + 1):
                if tokens[i : i + len(phrase)] == phrase:
                    return kind, line.text
    return None


def _big(line: Line, page: list[Line]) -> bool:
    """Printed larger than the page's body text, as titles are (needs word boxes)."""
    heights = sorted(ln.y1 - ln.y0 for ln in page if ln.boxes and ln.boxes[0] is not None)
    if not heights or line.boxes[:1] == [None]:
        return False
    return (line.y1 - line.y0) >= 1.3 * heights[len(heights) // 2]


def _title(page: list[Line], top_only: bool) -> tuple[tuple[str, str] | None, int]:
    """A report title at the top of a page: one of its first two lines, or printed large near
    the top (a section heading further down, 'LABORATORY RESULTS', is not a new report)."""
    height = page[0].height if page else 0
    for k, line in enumerate(page):
        near_top = k < 6 or (height and line.y0 < height * TOP)
        if top_only and not near_top:
            break
        big = _big(line, page)
        if k > 1 and not big:
            continue
        if not big and line.text.isupper() and line.boxes[:1] != [None] and context.header_category(line):
            # 'PROBLEM LIST' in capitals of body size heads a section; a report's title is
            # printed larger (without word boxes, sizes are unknown and the words alone decide)
            continue
        found = _title_line(line, anywhere=big or line.text.isupper())
        if found:
            return found, k
    return None, 0


def _patient(page: list[Line]) -> Patient:
    found: Patient = {}
    for line in page[:10]:
        text = line.text
        if "mrn" not in found and (match := MRN.search(text)):
            found["mrn"] = match.group(1)
        if "dob" not in found and (match := DOB.search(text)):
            born = dates.parse_date(text[match.end() : match.end() + 20])
            if born:
                found["dob"] = born.iso
        if "name" not in found and (match := PATIENT.search(text)):
            found["name"] = re.split(r"\s{2,}|\s+(?:DOB|MRN|Sex|Gender)\b", match.group(1))[0].strip(" ,")
    return found


def _differs(a: Patient, b: Patient) -> bool:
    return any(a[k].lower() != b[k].lower() for k in PATIENT_KEYS if k in a and k in b)


def _describe(encounter: _Opening, n: int, lines: list[Line], all_found: list[_Opening]) -> Placed[Encounter]:
    end = all_found[n + 1].start if n + 1 < len(all_found) else len(lines)
    own = lines[encounter.start : end]
    pages = sorted({line.page for line in own})
    start_date, end_date, ambiguous = _service_dates(own[:40])
    provider = _first(PROVIDER, own, 1)
    facility = _first(FACILITY, own[:40], 1) or _first(FACILITY_NAME, own[:40], 1)
    described: Encounter = {
        "id": f"e{n + 1}",
        "type": encounter.type,
        "title": encounter.title or None,
        "pages": pages,
        "start_date": start_date,
        "end_date": end_date or start_date,
        "provider": provider,
        "facility": facility.strip(" ,.") if facility else None,
        "date_ambiguous": ambiguous,
        "patient": encounter.patient or None,
    }
    return Placed(encounter.start, described)


def _visit_date(lines: list[Line]) -> str | None:
    for line in lines:
        if match := VISIT_LABELS.search(line.text):
            found = dates.parse_date(line.text[match.end() :])
            if found:
                return found.iso
    return None


def _service_dates(lines: list[Line]) -> tuple[str | None, str | None, bool]:
    start = end = None
    ambiguous = False
    for line in lines:
        text = line.text
        if DOB.search(text) and not START_LABELS.search(DOB.sub("", text)):
            continue
        if end is None and (match := END_LABELS.search(text)):
            found = dates.parse_date(text[match.end() :])
            if found:
                end, ambiguous = found.iso, ambiguous or found.ambiguous
        if start is None and (match := START_LABELS.search(text)):
            found = dates.parse_date(text[match.end() :])
            if found:
                start, ambiguous = found.iso, ambiguous or found.ambiguous
    if start is None:  # no labelled date: the first date printed near the top
        for line in lines[:15]:
            if DOB.search(line.text):
                continue
            found = dates.parse_date(line.text)
            if found:
                start, ambiguous = found.iso, ambiguous or found.ambiguous
                break
    return start, end, ambiguous


def _first(pattern: re.Pattern[str], lines: list[Line], group: int) -> str | None:
    for line in lines:
        match = pattern.search(line.text)
        if match:
            return re.split(r"\s{2,}", match.group(group).strip())[0]
    return None
