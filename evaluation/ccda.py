"""C-CDA documents as the evaluation needs them: the printable narrative, and the coded entries
that are its answer key (RxNorm, LOINC with value/unit/range, SNOMED, CVX, dates)."""

import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

TEMPLATES = {
    "2.16.840.1.113883.10.20.22.4.16": "medications",
    "2.16.840.1.113883.10.20.22.4.2": "labs",
    "2.16.840.1.113883.10.20.22.4.27": "vitals",
    "2.16.840.1.113883.10.20.22.4.4": "conditions",
    "2.16.840.1.113883.10.20.22.4.7": "allergies",
    "2.16.840.1.113883.10.20.22.4.52": "immunizations",
    "2.16.840.1.113883.10.20.22.4.14": "procedures",
}
NO_KNOWN_ALLERGY_CODES = {"716186003", "409137002", "429625007", "428607008", "428197003"}
VITAL_CODES = {
    "8480-6": "systolic", "8462-4": "diastolic", "8867-4": "heart_rate", "8310-5": "temperature",
    "8331-1": "temperature", "9279-1": "respiratory_rate", "8302-2": "height", "8306-3": "height",
    "29463-7": "weight", "3141-9": "weight", "39156-5": "bmi", "59408-5": "spo2", "2710-2": "spo2",
    "3150-0": "oxygen_concentration", "3151-8": "oxygen_concentration", "8287-5": "head_circumference",
    "9843-4": "head_circumference",
}  # fmt: skip
INTERPRETATION = {"N": "N", "H": "H", "HH": "H", "HU": "H", "L": "L", "LL": "L", "LU": "L", "A": "A", "AA": "A"}


@dataclass
class Block:
    kind: str  # heading | para | table
    text: str = ""
    header: list[str] = field(default_factory=list)
    rows: list[list[str]] = field(default_factory=list)


@dataclass
class Document:
    name: str
    title: str
    kind: str  # the encounter type a reader would give it
    patient: dict[str, str]
    date: str | None  # ISO date of service
    provider: str | None
    facility: str | None
    blocks: list[Block]
    gold: dict[str, list[dict[str, Any]]]
    source: str = ""  # the file, relative to the corpus: what the development / held-out split names


def _clean(xml: str) -> ET.Element:
    """Parse a C-CDA file or fragment with namespaces dropped (fragments do not declare them)."""
    xml = re.sub(r"<\?xml[^>]*\?>", "", xml)
    xml = re.sub(r'\s+xmlns(?::\w+)?="[^"]*"', "", xml)
    xml = re.sub(r"<(/?)\w+:(\w+)", r"<\1\2", xml)
    xml = re.sub(r'(\s)\w+:(\w+)=(["\'])', r"\1\2=\3", xml)
    return ET.fromstring(xml)  # noqa: S314 - our own test data


def text_of(element: ET.Element | None) -> str:
    if element is None:
        return ""
    return re.sub(r"\s+", " ", "".join(element.itertext())).strip()


def load(path: Path) -> tuple[ET.Element, dict[str, str]]:
    root = _clean(path.read_text(encoding="utf-8"))
    ids = {key: text_of(el) for el in root.iter() if (key := el.get("ID"))}
    return root, ids


def narrative_blocks(section: ET.Element) -> list[Block]:
    blocks: list[Block] = []
    title = text_of(section.find("title"))
    if title:
        blocks.append(Block("heading", title))
    text = section.find("text")
    if text is not None:
        _walk(text, blocks)
    for child in section.findall("component/section"):
        blocks.extend(narrative_blocks(child))
    return blocks


def _walk(element: ET.Element, blocks: list[Block]) -> None:
    loose = (element.text or "").strip()
    if loose:
        blocks.append(Block("para", re.sub(r"\s+", " ", loose)))
    for child in element:
        tag = child.tag
        if tag == "table":
            header = [text_of(c) for c in child.findall("thead/tr/th")] or [
                text_of(c) for c in child.findall("thead/tr/td")
            ]
            rows = []
            for tr in child.findall("tbody/tr") + child.findall("tr"):
                cells = [text_of(c) for c in tr if c.tag in ("td", "th")]
                if any(cells):
                    rows.append(cells)
            if not header and rows and all(c for c in rows[0]) and len(rows) > 1:
                header = []
            blocks.append(Block("table", header=header, rows=rows))
        elif tag in ("paragraph", "content", "caption") and not list(child.iter("table")):
            value = text_of(child)
            if value:
                blocks.append(Block("para", value))
        elif tag == "list":
            for item in child.findall("item"):
                if list(item.iter("table")):
                    _walk(item, blocks)
                elif text_of(item):
                    blocks.append(Block("para", "- " + text_of(item)))
        elif tag == "br":
            pass
        else:
            _walk(child, blocks)
        tail = (child.tail or "").strip()
        if tail:
            blocks.append(Block("para", re.sub(r"\s+", " ", tail)))


def _name(element: ET.Element | None, ids: dict[str, str]) -> str:
    """What a coded element prints as: its referenced narrative text, else its display name."""
    if element is None:
        return ""
    reference = element.find("originalText/reference")
    if reference is not None and reference.get("value", "").lstrip("#") in ids:
        return ids[reference.get("value", "").lstrip("#")]
    original = text_of(element.find("originalText"))
    return original or element.get("displayName") or ""


def _date(value: str | None) -> str | None:
    if not value or len(value) < 8 or not value[:8].isdigit():
        return None
    return f"{value[:4]}-{value[4:6]}-{value[6:8]}"


def _templates(element: ET.Element) -> set[str]:
    return {t.get("root", "") for t in element.findall("templateId")}


def gold_entries(root: ET.Element, ids: dict[str, str]) -> dict[str, list[dict[str, Any]]]:
    gold: dict[str, list[dict[str, Any]]] = {kind: [] for kind in set(TEMPLATES.values())}
    vitals: dict[str, dict[str, Any]] = {}
    for element in root.iter():
        kinds = [TEMPLATES[t] for t in _templates(element) if t in TEMPLATES]
        if not kinds:
            continue
        kind = kinds[0]
        negated = element.get("negationInd") == "true"
        item = _entry(kind, element, ids, negated)
        if item is None:
            continue
        if kind == "vitals" and item["type"] in ("systolic", "diastolic"):
            bp = vitals.setdefault(item["date"] or "", {"type": "blood_pressure", "name": "blood pressure"})
            bp.update({item["type"]: item["value"], "date": item["date"], "negated": False, "unit": "mmHg"})
            continue
        gold[kind].append(item)
    gold["vitals"].extend(v for v in vitals.values() if "systolic" in v and "diastolic" in v)
    return gold


def _entry(kind: str, el: ET.Element, ids: dict[str, str], negated: bool) -> dict[str, Any] | None:
    low = el.find("effectiveTime/low")
    effective = el.find("effectiveTime")
    when = (
        _date((low.get("value") if low is not None else None) or effective.get("value"))
        if effective is not None
        else None
    )
    if kind in ("medications", "immunizations"):
        code = el.find("consumable/manufacturedProduct/manufacturedMaterial/code")
        name = _name(code, ids)
        if not name:
            return None
        item: dict[str, Any] = {"name": name, "coded": code.get("displayName", "") if code is not None else ""}
        item.update(negated=negated, date=when, code=code.get("code") if code is not None else None)
        if kind == "medications":
            dose = el.find("doseQuantity")
            period = el.find("effectiveTime/period")
            if period is None:
                period = el.find("effectiveTime/phase/width")
            dose_value = dose.get("value") if dose is not None else None
            item["dose"] = float(dose_value) if dose_value else None
            item["interval_hours"] = _hours(period)
        return item
    if kind in ("labs", "vitals"):
        code = el.find("code")
        value = el.find("value")
        item = {"name": _name(code, ids), "coded": code.get("displayName", "") if code is not None else ""}
        item.update(negated=negated, date=when, code=code.get("code") if code is not None else None)
        if kind == "vitals":
            item["type"] = VITAL_CODES.get(item["code"] or "") or _vital_type(item["name"])
        kind_of_value = (value.get("type") or "") if value is not None else ""
        translated = value.find("translation") if value is not None and value.get("nullFlavor") else None
        coded = value.get("value") if value is not None else None
        if value is not None and coded is not None and kind_of_value in ("PQ", "REAL", "INT", ""):
            item["value"] = float(coded)
            item["unit"] = value.get("unit")
        elif translated is not None and (translation := translated.get("value")) and kind_of_value == "PQ":
            # a unit not in UCUM: the value is the translation's, its originalText the lab's unit
            item["value"] = float(translation)
            item["unit"] = text_of(translated.find("originalText")) or None
        elif value is not None:
            item["value"] = value.get("displayName") or text_of(value) or None
            item["unit"] = None
        else:
            item["value"] = item["unit"] = None
        reference = el.find("text/reference")
        if kind == "labs" and reference is not None and reference.get("value", "").lstrip("#") in ids:
            item["printed"] = ids[reference.get("value", "").lstrip("#")]  # the narrative it points at
        interpretation = el.find("interpretationCode")
        item["flag"] = INTERPRETATION.get(interpretation.get("code", "")) if interpretation is not None else None
        return item if item["name"] else None
    if kind == "conditions":
        value = el.find("value")
        name = _name(value, ids)
        if not name or value is None or value.get("nullFlavor"):  # no element, no name
            return None
        return {"name": name, "coded": value.get("displayName", ""), "negated": negated, "date": when}
    if kind == "allergies":
        value = el.find("value")
        value_code = value.get("code", "") if value is not None else ""
        entity = el.find("participant/participantRole/playingEntity/code")
        if value_code in NO_KNOWN_ALLERGY_CODES or (negated and (entity is None or entity.get("nullFlavor"))):
            # 'no known allergies' is a negated statement (issue 6 names it so), coded either way
            return {"name": "no known allergies", "no_known": True, "negated": True, "date": when, "coded": ""}
        name = _name(entity, ids)
        if not name or entity is None:  # no element, no name
            return None
        return {"name": name, "coded": entity.get("displayName", ""), "no_known": False, "negated": negated}
    if kind == "procedures":
        code = el.find("code")
        name = _name(code, ids)
        return {"name": name, "coded": "", "negated": negated, "date": when} if name else None
    return None


def _vital_type(name: str) -> str:
    from processing.engine.passes import vocabulary

    found = vocabulary.vital_names().find(list(vocabulary.norm_tokens(name)))
    return found[0][2].canonical if found else name.lower()


def _hours(period: ET.Element | None) -> float | None:
    printed = period.get("value") if period is not None else None
    if period is None or not printed:
        return None
    value = float(printed)
    unit = (period.get("unit") or "h").lower()
    return value * {"h": 1, "d": 24, "wk": 168, "min": 1 / 60, "mo": 720}.get(unit, 1)


def header(root: ET.Element) -> dict[str, Any]:
    """Title, patient, date, provider and facility printed in a full document's header."""
    patient_role = root.find("recordTarget/patientRole")
    patient: dict[str, str] = {}
    if patient_role is not None:
        name = patient_role.find("patient/name")
        if name is not None:
            given = " ".join(text_of(g) for g in name.findall("given"))
            patient["name"] = f"{given} {text_of(name.find('family'))}".strip()
        birth = patient_role.find("patient/birthTime")
        if birth is not None and _date(birth.get("value")):
            patient["dob"] = _date(birth.get("value")) or ""
        ident = patient_role.find("id")
        if ident is not None and ident.get("extension"):
            patient["mrn"] = ident.get("extension") or ""
    date = None
    for path in (
        "componentOf/encompassingEncounter/effectiveTime/low",
        "componentOf/encompassingEncounter/effectiveTime",
        "documentationOf/serviceEvent/effectiveTime/low",
        "effectiveTime",
    ):
        element = root.find(path)
        if element is not None and _date(element.get("value")):
            date = _date(element.get("value"))
            break
    author = root.find("author/assignedAuthor/assignedPerson/name")
    provider = None
    if author is not None:
        provider = " ".join(text_of(p) for p in author if p.tag in ("prefix", "given", "family", "suffix"))
    facility = text_of(root.find("custodian/assignedCustodian/representedCustodianOrganization/name")) or None
    return {
        "title": text_of(root.find("title")),
        "patient": patient,
        "date": date,
        "provider": provider,
        "facility": facility,
    }
