"""The evaluation documents: each C-CDA file (or fragment) as a printable record plus its
answer key, and the medspaCy discharge summary with its hand-made reference."""

import hashlib
import json
import re
from pathlib import Path
from typing import Any

from evaluation import ccda, split
from evaluation.ccda import Block

# A fragment (one section) is printed as the report that would carry it.
FRAGMENT_TITLES = {
    "Allergies": ("Allergy List", "other"),
    "Encounters": ("Office Visit", "progress_note"),
    "Immunizations": ("Immunization Record", "other"),
    "Medications": ("Medication List", "progress_note"),
    "Problems": ("Problem List", "other"),
    "Results": ("Laboratory Report", "lab_report"),
    "Vital": ("Progress Note", "progress_note"),
}
FULL_TYPES = {
    "Discharge Summary": "discharge_summary",
    "Transition of Care/Referral Summary": "referral",
    "MU2 Clinical Visit Summary": "progress_note",
    "Operative Report": "operative_note",
}
# Made-up people for fragments, which have no header; each fragment gets one by its name.
PEOPLE = [
    ("Maria Lopez", "1961-03-14", "MRN-204511"),
    ("James Carter", "1948-11-02", "MRN-310877"),
    ("Aiko Tanaka", "1975-06-21", "MRN-118342"),
    ("Robert Nguyen", "1983-09-30", "MRN-527019"),
]
PROVIDERS = ["Dr. Henry Seven, MD", "Dr. Samir Kahn, MD", "Dr. Ada Wells, DO"]
FACILITIES = ["Good Health Clinic", "Community Medical Center", "Riverside Hospital"]


def _pick(name: str, options: list[Any]) -> Any:
    return options[int(hashlib.sha256(name.encode()).hexdigest(), 16) % len(options)]


def _us(iso: str | None) -> str:
    if not iso:
        return ""
    year, month, day = iso.split("-")
    return f"{month}/{day}/{year}"


def load_documents(root: Path, parts: tuple[str, ...] = split.PARTS) -> list[ccda.Document]:
    """The printable documents under `root` that the recorded split puts in one of `parts`.

    A document whose narrative is headings only (Kinsights' sample: every entry coded, none
    printed) cannot be read for its key and is left out."""
    documents = [_from_ccda(path) for path in sorted(root.glob("*/*.xml"))]
    summary = root / "medspacy" / "discharge_summary.txt"
    if summary.exists():
        documents.append(_from_text(summary))
    printed = [d for d in documents if any(block.kind != "heading" for block in d.blocks)]
    return [d for d in printed if split.part_of(d.source) in parts]


def _from_ccda(path: Path) -> ccda.Document:
    root, ids = ccda.load(path)
    gold = ccda.gold_entries(root, ids)
    if root.tag == "section":
        blocks = ccda.narrative_blocks(root)
        prefix = path.name.split("_")[0]
        title, kind = FRAGMENT_TITLES.get(prefix, ("Clinical Note", "other"))
        dates = sorted(d for items in gold.values() for i in items if (d := i.get("date")))
        name, dob, mrn = _pick(path.name, PEOPLE)
        info = {
            "title": title,
            "patient": {"name": name, "dob": dob, "mrn": mrn},
            "date": dates[0] if dates else None,
            "provider": _pick(path.name + "p", PROVIDERS),
            "facility": _pick(path.name + "f", FACILITIES),
        }
    else:
        blocks = [
            b for s in root.findall("component/structuredBody/component/section") for b in ccda.narrative_blocks(s)
        ]
        info = ccda.header(root)
        title = info["title"]
        kind = FULL_TYPES.get(title, "other")
    return ccda.Document(
        name=path.name,
        title=info["title"],
        kind=kind,
        patient=info["patient"],
        date=info["date"],
        provider=info["provider"],
        facility=info["facility"],
        blocks=blocks,
        gold=gold,
        source=f"{path.parent.name}/{path.name}",
    )


def _from_text(path: Path) -> ccda.Document:
    """The medspaCy sample: its lines as printed, its reference as the key (conditions and meds)."""
    text = re.sub(r"\[\*\*([^*]*)\*\*\]", lambda m: _deidentified(m.group(1)), path.read_text(encoding="utf-8"))
    blocks = [Block("para", line.strip()) for line in text.splitlines() if line.strip()]
    reference = json.loads(path.with_name("discharge_summary.gold.json").read_text(encoding="utf-8"))
    gold: dict[str, list[dict[str, Any]]] = {k: [] for k in set(ccda.TEMPLATES.values())}
    for condition in reference["conditions"]:
        gold["conditions"].append(
            {
                "name": condition["name"],
                "coded": "",
                "negated": condition["status"] == "negated",
                "family": "experiencer" in condition,
                "date": None,
            }
        )
    for medication in reference["medications"]:
        gold["medications"].append({"name": medication["name"], "coded": "", "negated": False, "dose": 1.0})
        gold["medications"][-1]["frequency"] = medication["frequency"]
    for allergy in reference["allergies"]:
        gold["allergies"].append({"name": allergy["allergen"], "coded": "", "negated": False, "no_known": False})
    for procedure in reference["procedures"]:
        gold["procedures"].append({"name": procedure["name"], "coded": "", "negated": False})
    return ccda.Document(
        name=path.name,
        title="Discharge Summary",
        kind="discharge_summary",
        patient={"name": "Ann Example", "dob": "2498-08-19", "mrn": "MRN-2004"},
        date="2573-05-30",
        provider=None,
        facility=None,
        blocks=blocks,
        gold=gold,
        source=f"{path.parent.name}/{path.name}",
    )


def _deidentified(inner: str) -> str:
    """The sample's [**2573-5-30**] placeholders printed as dates or names, as a real note has them."""
    if re.fullmatch(r"\d{4}-\d{1,2}-\d{1,2}", inner):
        year, month, day = inner.split("-")
        return f"{int(month):02d}/{int(day):02d}/{year}"
    if re.fullmatch(r"\d{1,2}-\d{1,2}", inner):
        return inner.replace("-", "/")
    if re.fullmatch(r"\d{4}", inner):
        return inner
    return "Smith"


def printable(doc: ccda.Document) -> dict[str, Any]:
    """The header a printout of `doc` shows."""
    patient = doc.patient
    banner = "   ".join(
        part
        for part in (
            f"Patient: {patient['name']}" if patient.get("name") else "",
            f"DOB: {_us(patient.get('dob'))}" if patient.get("dob") else "",
            f"MRN: {patient['mrn']}" if patient.get("mrn") else "",
        )
        if part
    )
    lines = []
    if doc.date:
        lines.append(f"Date of Service: {_us(doc.date)}")
    if doc.provider:
        lines.append(f"Provider: {doc.provider}")
    if doc.facility:
        lines.append(f"Facility: {doc.facility}")
    return {"title": doc.title, "banner": banner, "header_lines": lines, "provider": doc.provider}
