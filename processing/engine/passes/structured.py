"""Pass 2 for medications, allergies, immunizations, conditions and procedures.

Each record is read from the row its mention is printed on (the rest of a table row, or of a
list item), so a sig, a reaction or a date is never borrowed from a neighbouring item.
"""

import re
from dataclasses import dataclass
from functools import cache

from processing.engine.passes import dates, vocabulary
from processing.engine.passes.context import Context
from processing.engine.passes.entities import Mention
from processing.engine.passes.layout import Line
from processing.engine.passes.records import (
    Allergy,
    AllergyFields,
    Condition,
    ConditionFields,
    Immunization,
    ImmunizationFields,
    Medication,
    MedicationFields,
    Procedure,
    ProcedureFields,
    RecordFields,
)
from processing.engine.passes.rows import Segment, clean_number, first_match, mention_fields, number, record_fields

NUMBER_WORDS = {"one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "half": 0.5, "1/2": 0.5}
SEVERITIES = ("life threatening", "life-threatening", "severe", "moderate", "mild", "fatal")
CONDITION_STATUS = {
    "active": "active",
    "chronic": "active",
    "resolved": "resolved",
    "inactive": "inactive",
    "ruled out": "ruled out",
    "history of": "historical",
    "remission": "in remission",
}
REFUSED = re.compile(r"\b(refused|declined|objected|not given|deferred)\b", re.I)


@dataclass(frozen=True)
class _SigPatterns:
    """How a sig is read, built once from data/sig.json."""

    strength: re.Pattern[str]
    dose: re.Pattern[str]
    every: re.Pattern[str]  # 'every 4-6 hours', 'q8h'
    frequency: vocabulary.PhraseIndex  # filled on first use (_frequency_index)


@cache
def _sig_patterns() -> _SigPatterns:
    sig = vocabulary.sig()
    units = "|".join(sorted((re.escape(u) for u in sig["strength_units"]), key=len, reverse=True))
    dose_units = "|".join(sorted((re.escape(u) for u in sig["dose_units"]), key=len, reverse=True))
    counts = r"\d+(?:\.\d+)?|one|two|three|four|five|half|1/2"
    return _SigPatterns(
        # after the name, maybe past a salt or a brand: 'Heparin Sodium (Porcine) 5,000 unit/mL'
        strength=re.compile(rf"^\W{{0,3}}(?:\([^)]*\)\s*)?(\d[\d,]*(?:\.\d+)?)\s*({units})(?![a-z])", re.I),
        dose=re.compile(
            rf"\b(?:take|takes|taking|administer|give|inject|apply|inhale|use|instill|sig:?)?\s*"
            rf"(?<![\d,.])({counts})\s*(?:\(\d+(?:\.\d+)?\)\s*)?({dose_units})\b",
            re.I,
        ),
        every=re.compile(r"\b(?:every|q)\s*(\d+)(?:\s*(?:-|to)\s*(\d+))?\s*(?:hours?|hrs?|h)\b", re.I),
        frequency=vocabulary.PhraseIndex(),
    )


def _frequency_index() -> vocabulary.PhraseIndex:
    index = _sig_patterns().frequency
    if not index.phrases:
        for phrase, (code, hours) in vocabulary.sig()["frequency"].items():
            index.add(phrase, vocabulary.Entry("frequency", code, str(hours or "")))
    return index


_KEYS: dict[int, tuple[dict[tuple[str, ...], str], int]] = {}


def _phrase_in(tokens: list[str], table: dict[str, str] | tuple[str, ...] | list[str]) -> tuple[str, str] | None:
    """The first phrase of `table` printed in tokens (longest wins at a position)."""
    if id(table) not in _KEYS:  # the tables are module-level constants: index each once
        keys = {vocabulary.norm_tokens(k): k for k in table}
        _KEYS[id(table)] = keys, max((len(k) for k in keys), default=1)
    keys, longest = _KEYS[id(table)]
    for i in range(len(tokens)):
        for n in range(longest, 0, -1):
            key = keys.get(tuple(tokens[i : i + n]))
            if key is not None:
                return key, (table[key] if isinstance(table, dict) else key)
    return None


def medication(mention: Mention, next_line: Line | None) -> Medication:
    line = mention.line
    segment = Segment(line, mention.words[-1] + 1)
    text = segment.text
    # A sig printed on the line below ('(2 times a day) as needed.') belongs to this item.
    if next_line is not None and re.match(r"^\s*(\(|sig\b|[a-z])", next_line.text):
        text = text + " " + next_line.text
    tokens = list(vocabulary.norm_tokens(text))
    patterns = _sig_patterns()
    extra: list[int] = []
    strength = None
    match, words = first_match(patterns.strength, segment)
    if match:
        strength = f"{match.group(1)} {match.group(2)}".replace(" %", "%")
        extra += words
    dose, dose_unit = None, None
    for m in patterns.dose.finditer(text):
        if match and m.start() < match.end():
            continue
        dose = NUMBER_WORDS.get(m.group(1).lower()) or number(m.group(1))
        dose_unit = m.group(2).lower()
        break
    dose_implied = False
    if dose is None and strength and match:
        if match.group(2).lower() in ("unit", "units", "unt", "iu"):
            dose, dose_unit = number(match.group(1)), "units"  # 'NovoLog 15 units': the strength is the dose
        else:
            dose, dose_implied = 1, True  # '20mg by mouth daily': one unit of that strength
    frequency, interval = _frequency(tokens, text)
    sig = vocabulary.sig()
    route = _phrase_in(tokens, sig["route"])
    form = _phrase_in(tokens, sig["form"])
    prn = _phrase_in(tokens, sig["prn"]) is not None
    status = None
    for token in tokens:
        if token in sig["status"]:
            status = sig["status"][token]
    if mention.context.negated or REFUSED.search(line.text):
        status = "refused" if REFUSED.search(line.text) else status
    start = dates.parse_date(segment.text)
    own: MedicationFields = {
        "name": mention.text,
        "generic": mention.canonical,
        "strength": strength,
        "dose": clean_number(dose),
        "dose_unit": dose_unit,
        "dose_implied": dose_implied,
        "form": form[1] if form else None,
        "route": route[1] if route else None,
        "frequency": frequency,
        "interval_hours": interval,
        "prn": prn,
        "status": status,
        "start_date": start.iso if start else None,
    }
    return {**own, **mention_fields(mention, segment.words)}


def _frequency(tokens: list[str], text: str) -> tuple[str | None, float | None]:
    found = _frequency_index().find(tokens)
    if found:
        entry = found[0][2]
        return entry.canonical, float(entry.code) if entry.code else None
    every = _sig_patterns().every.search(text)
    if every:
        low = every.group(1)
        if every.group(2):
            return f"q{low}-{every.group(2)}h", float(low)
        return f"q{low}h", float(low)
    return None, None


def allergy(mention: Mention) -> Allergy:
    line = mention.line
    if mention.kind == "no_known_allergies":  # 'NKDA': kept, negated, as 'No known problems' is
        said = _said_none(mention)
        # Its reaction and severity come after the fields every record carries: the JSON has
        # always had them there on this record.
        return {
            "substance": None,
            "no_known": True,
            "status": "none",
            "encounter": said["encounter"],
            "page": said["page"],
            "boxes": said["boxes"],
            "negated": said["negated"],
            "context": said["context"],
            "section": said["section"],
            "text": said["text"],
            "reaction": None,
            "severity": None,
        }
    rest = Segment(line, mention.words[-1] + 1)
    tokens = list(vocabulary.norm_tokens(rest.text))
    found = vocabulary.conditions().find(tokens)
    reactions = [" ".join(tokens[s:e]) for s, e, entry in found if entry.kind == "condition"]
    severity = _phrase_in(tokens, SEVERITIES)
    own: AllergyFields = {
        "substance": mention.text,
        "substance_normalised": mention.canonical,
        "no_known": False,
        "reaction": ", ".join(reactions) or None,
        "severity": severity[1].replace("-", " ") if severity else None,
        "status": "inactive" if re.search(r"\b(inactive|resolved|withdrawn)\b", line.text, re.I) else "active",
    }
    return {**own, **mention_fields(mention, rest.words)}


# First cells of an allergy table that name a column or say nothing: no substance
NOT_A_SUBSTANCE = re.compile(
    r"^(allergen|substance|agent|name|reactions?|onset|status|severity|type|date|comments?|notes?|"
    r"not (indicated|available|applicable|recorded)|none|unknown|no information)\b",
    re.IGNORECASE,
)


def allergy_from_row(line: Line, ctx: Context) -> Allergy | None:
    """A row of an allergy table whose first cell names no known substance (a trial drug)."""
    if len(line.cells) < 2 or not re.search(r"[A-Za-z]{3}", line.cells[0].text):
        return None
    first = line.cells[0]
    if dates.find_dates(first.text) or NOT_A_SUBSTANCE.search(first.text):
        return None
    rest_tokens = list(vocabulary.norm_tokens(" ".join(c.text for c in line.cells[1:])))
    reactions = [" ".join(rest_tokens[s:e]) for s, e, _ in vocabulary.conditions().find(rest_tokens)]
    severity = _phrase_in(rest_tokens, SEVERITIES)
    if not reactions and not severity:
        return None  # a real allergy row names a reaction or a severity
    own: AllergyFields = {
        "substance": first.text,
        "substance_normalised": first.text.lower(),
        "no_known": False,
        "reaction": ", ".join(reactions) or None,
        "severity": severity[1] if severity else None,
        "status": "active",
    }
    return {**own, **record_fields(line, first.words, ctx)}


def immunization(mention: Mention) -> Immunization:
    line = mention.line
    found = dates.find_dates(line.text)
    refused = mention.context.negated or bool(REFUSED.search(line.text))
    own: ImmunizationFields = {
        "vaccine": mention.text,
        "vaccine_normalised": mention.canonical,
        "cvx": mention.code or None,
        "date": found[0].iso if found else None,
        "date_ambiguous": found[0].ambiguous if found else False,
        "status": "refused" if refused else "given",
    }
    return {**own, **mention_fields(mention, [])}


def condition(mention: Mention) -> Condition:
    line = mention.line
    rest = Segment(line, mention.words[-1] + 1)
    tokens = list(vocabulary.norm_tokens(line.text))
    status = _phrase_in(tokens, CONDITION_STATUS)
    onset_match = re.search(r"onset:?\s*(.+)", rest.text, re.I)
    onset = dates.parse_date(onset_match.group(1) if onset_match else rest.text)
    code = mention.code or vocabulary.icd10_code(mention.canonical) or vocabulary.icd10_code(mention.text)
    if mention.context.negated:
        status_value = "absent"
    else:
        status_value = status[1] if status else ("historical" if "historical" in mention.context.tags else "active")
    own: ConditionFields = {
        "name": mention.text,
        "name_normalised": mention.canonical,
        "icd10": code or None,
        # ICD-10-CM chapter R holds symptoms and signs: a complaint, not a problem-list entry
        "category": "symptom" if code.startswith("R") else "problem",
        "status": status_value,
        "onset": onset.iso if onset else None,
    }
    return {**own, **mention_fields(mention, [])}


def procedure(mention: Mention) -> Procedure:
    rest = Segment(mention.line, mention.words[-1] + 1)
    found = dates.parse_date(rest.text) or dates.parse_date(mention.line.text)
    own: ProcedureFields = {
        "name": mention.text,
        "name_normalised": mention.canonical,
        "date": found.iso if found else None,
    }
    return {**own, **mention_fields(mention, [])}


def no_known_problems(mention: Mention) -> Condition:
    """'No known problems': kept, negated, never a thing the patient has."""
    own: ConditionFields = {"name": None, "no_known": True, "status": "none"}
    return {**own, **_said_none(mention)}


def no_medications(mention: Mention) -> Medication:
    """'No current medications': kept, negated, never a thing the patient takes."""
    own: MedicationFields = {"name": None, "no_known": True, "status": "none"}
    return {**own, **_said_none(mention)}


def _said_none(mention: Mention) -> RecordFields:
    """The fields every record carries, for a 'no known ...' mention: negated whatever its context."""
    return {**mention_fields(mention, []), "negated": True}
