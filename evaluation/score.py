"""Scoring predicted records against the coded entries of the same document.

A prediction matches an answer when their names share most of their words (or read nearly
the same, for OCR slips); each answer matches at most one prediction. Negated answers are
matched like any other, and the negation is scored apart.
"""

import difflib
import re
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from processing.engine.passes import vocabulary

NAME_FIELDS = {
    "medications": ("name", "generic"),
    "labs": ("test", "test_normalised"),
    "vitals": ("type",),
    "conditions": ("name", "name_normalised"),
    "allergies": ("substance", "substance_normalised"),
    "immunizations": ("vaccine", "vaccine_normalised"),
    "procedures": ("name", "name_normalised"),
}
NOISE = {
    "mg", "ml", "oral", "tablet", "tab", "capsule", "solution", "injection", "of", "in", "by", "the", "and",
    "blood", "serum", "plasma", "mass", "volume", "moles", "presence", "method", "calculated", "disorder",
    "finding", "confirmed", "unt", "unit", "units", "product", "containing", "only", "form", "a", "to",
}  # fmt: skip


UNITS = {"cel": "c", "degf": "f", "in_i": "in", "in_us": "in", "lb_av": "lb", "lbs": "lb", "mm[hg]": "mmhg"}
# One unit, several spellings: the UCUM code of the key, the lab's own and the printed form.
# Thousands (millions) per microlitre: UCUM '10*3/uL', Labcorp 'x10E3/uL', HL7's non-UCUM example
# 'THOUS/MCL' (its C-CDA translates it to 10*3/uL), NIST '10+3/ul', 'K/uL', '10^3/uL'. Only
# spellings of the same quantity belong here: 'mg/dL' and 'mmol/L' never match.
SAME_UNIT = {
    **dict.fromkeys(
        ("10*3/ul", "x10e3/ul", "10e3/ul", "thous/mcl", "10+3/ul", "k/ul", "10^3/ul", "x10^3/ul"), "10^3/ul"
    ),
    **dict.fromkeys(
        ("10*6/ul", "x10e6/ul", "10e6/ul", "mill/mcl", "10+6/ul", "m/ul", "10^6/ul", "x10^6/ul"), "10^6/ul"
    ),
}


def _words(text: str) -> set[str]:
    return {
        w for w in re.findall(r"[a-z0-9]+", text.lower().replace("\u200b", "")) if w not in NOISE and not w.isdigit()
    }


def _same_stem(a: str, b: str) -> bool:
    """'fevers'/'fever', 'electrocardiographic'/'electrocardiogram': one word, two endings."""
    if a == b:
        return True
    common = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        common += 1
    return common >= 5 and common >= 0.8 * min(len(a), len(b))


def names_match(a: list[str], b: list[str]) -> bool:
    for x in a:
        for y in b:
            if not x or not y:
                continue
            wx, wy = _words(x), _words(y)
            shared = sum(any(_same_stem(a, b) for b in wy) for a in wx)
            if wx and wy and shared / min(len(wx), len(wy)) >= 0.6:
                return True
            if difflib.SequenceMatcher(None, x.lower(), y.lower()).ratio() >= 0.8:
                return True
    return False


def _gold_names(kind: str, item: dict[str, Any]) -> list[str]:
    if kind == "vitals":
        return [item.get("type") or item["name"]]
    return [item.get("name", ""), item.get("coded", "")]


def _pred_names(kind: str, record: Mapping[str, Any]) -> list[str]:
    if record.get("no_known"):
        return [f"no known {kind}", "no known " + {"conditions": "problems"}.get(kind, kind)]
    names = [str(record.get(f) or "") for f in NAME_FIELDS[kind]]
    if kind == "labs":  # 'BUN' is 'Urea nitrogen [Mass/volume] in Blood' in LOINC's words
        names += vocabulary.lab_synonyms().get(record.get("test_normalised") or "", [])
    return names


@dataclass
class Tally:
    tp: int = 0
    fp: int = 0
    fn: int = 0
    fields: dict[str, list[int]] = field(default_factory=lambda: defaultdict(lambda: [0, 0]))
    misses: list[str] = field(default_factory=list)
    extras: list[str] = field(default_factory=list)
    wrong: list[str] = field(default_factory=list)
    unkeyed: int = 0
    unkeyed_examples: list[str] = field(default_factory=list)

    def prf(self) -> tuple[float, float, float]:
        precision = self.tp / (self.tp + self.fp) if self.tp + self.fp else 0.0
        recall = self.tp / (self.tp + self.fn) if self.tp + self.fn else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        return precision, recall, f1


@dataclass
class Negation:
    negated_right: int = 0
    negated_total: int = 0
    affirmed_right: int = 0
    affirmed_total: int = 0
    missed: list[str] = field(default_factory=list)


def score_document(
    gold: dict[str, list[dict[str, Any]]], records: Mapping[str, Any], tallies: dict[str, Tally],
    negation: Negation, name: str, printed: str = "",
) -> None:  # fmt: skip
    """Score one document's records (run_passes's, read kind by kind); `printed` is its narrative
    text, to tell key values never printed."""
    for kind, answers in gold.items():
        tally = tallies.setdefault(kind, Tally())
        predictions: list[Mapping[str, Any]] = list(records.get(kind, []))
        if not answers:
            # no answer key for this kind in this document (not coded, or not that kind of
            # section): its predictions cannot be judged, they are counted apart
            tally.unkeyed += len(predictions)
            tally.unkeyed_examples += [f"{name}: {p['text'][:60]}" for p in predictions]
            continue
        used: set[int] = set()
        unique = _unique(kind, answers)
        unprintable = 0
        right = right_unprintable = 0  # labs with value and unit right; of them, those not printed
        for answer in unique:
            match = _find(kind, answer, predictions, used)
            both_right = _score_match(
                kind, answer, predictions[match] if match is not None else None, tally, negation, name
            )
            right += both_right
            if match is not None:
                used.add(match)
            if kind == "labs" and not _lab_printed(answer, printed):
                unprintable += 1
                right_unprintable += match is not None and both_right
        for i, predicted in enumerate(predictions):
            if i not in used:
                tally.fp += 1
                tally.extras.append(f"{name}: {_pred_names(kind, predicted)[0]} | {predicted['text'][:60]}")
        if kind == "labs":
            both = tallies.setdefault("labs (value+unit)", Tally())
            both.tp, both.fn, both.fp = (
                both.tp + right,
                both.fn + len(unique) - right,
                both.fp + len(predictions) - right,
            )
            # the same, leaving out answers whose value or unit the printout does not show
            # (the key and the narrative of some samples disagree: coded 10.2, printed 13.2)
            shown = tallies.setdefault("labs (value+unit), as printed", Tally())
            right -= right_unprintable
            shown.tp, shown.fn = shown.tp + right, shown.fn + len(unique) - unprintable - right
            shown.fp += len(predictions) - right - unprintable
            shown.unkeyed += unprintable


def _find(kind: str, answer: dict[str, Any], predictions: list[Mapping[str, Any]], used: set[int]) -> int | None:
    names = _gold_names(kind, answer)
    free = [i for i in range(len(predictions)) if i not in used]
    if kind == "vitals":  # a vital is its type ('height' and 'weight' read alike), then its reading
        same_type = [i for i in free if predictions[i]["type"] == names[0]]
        best = sorted(
            same_type,
            key=lambda i: (
                not _same_reading(answer, predictions[i]),
                not _same_date(answer.get("date"), predictions[i].get("date")),
            ),
        )
        return best[0] if best else None
    return next((i for i in free if names_match(names, _pred_names(kind, predictions[i]))), None)


def _score_match(
    kind: str, answer: dict[str, Any], predicted: Mapping[str, Any] | None, tally: Tally, negation: Negation, name: str
) -> bool:
    """Count a match (or a miss); True when it is a lab whose value and unit are both right."""
    if predicted is None:
        tally.fn += 1
        tally.misses.append(f"{name}: {answer.get('name')}")
        if answer.get("negated"):
            negation.negated_total += 1
            negation.missed.append(f"{name}: {answer.get('name')} (not found)")
        return False
    tally.tp += 1
    both_right = _fields(kind, answer, predicted, tally)
    if kind not in ("conditions", "allergies", "immunizations", "medications"):
        return both_right
    if answer.get("negated"):
        negation.negated_total += 1
        negation.negated_right += bool(predicted["negated"])
        if not predicted["negated"]:
            negation.missed.append(f"{name}: {answer.get('name')} | {predicted['text']}")
    else:
        negation.affirmed_total += 1
        negation.affirmed_right += not predicted["negated"]
    return both_right


def _same_reading(answer: dict[str, Any], predicted: Mapping[str, Any]) -> bool:
    """A vital's value as the key codes it: one number, or systolic and diastolic."""
    if answer.get("type") == "blood_pressure":
        return (predicted.get("systolic"), predicted.get("diastolic")) == (
            answer.get("systolic"),
            answer.get("diastolic"),
        )
    return _same_number(answer.get("value"), predicted.get("value"))


def _lab_printed(answer: dict[str, Any], printed: str) -> bool:
    """Whether a printed row (one per line of `printed`) shows the key's value with its unit."""
    value = answer.get("value")
    if value is None:
        return True
    if isinstance(value, float):
        forms = {f"{value:g}", f"{value}", f"{value:.1f}", f"{value:.2f}"}
        forms |= {f[1:] for f in forms if f.startswith("0.")}  # printed '.01'

        pattern = "|".join(re.escape(f) for f in forms)
        rows = [row for row in printed.lower().splitlines() if re.search(rf"(?<![\d.])({pattern})(?!\d)", row)]
    else:
        shown = re.sub(r"\s*\([^)]*\)$", "", str(value).lower())  # 'irregular (finding)': coded suffix
        rows = [row for row in printed.lower().splitlines() if shown in row]
    # the key's own row, when its entry points at the narrative ('INR - 3.5' coded 1.5; the 1.5
    # printed on the creatinine row above is not this result's)
    own = re.sub(r"\s+", " ", str(answer.get("printed") or "")).strip().lower()
    if own and any(own in row for row in printed.lower().splitlines()):
        rows = [row for row in rows if own in row]
    unit = str(answer.get("unit") or "").lower()
    forms = {unit} | {u for u, same in SAME_UNIT.items() if same == SAME_UNIT.get(unit)}
    return any(not unit or unit == "1" or any(form in row for form in forms) for row in rows)


def _unique(kind: str, answers: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One answer per thing: a document codes the same problem in several sections."""
    seen, kept = set(), []
    for answer in answers:
        words = " ".join(sorted(_words(answer.get("name") or answer.get("type") or "")))
        key = (words, answer.get("value"), answer.get("family"), answer.get("negated"), answer.get("date"))
        if key not in seen:
            seen.add(key)
            kept.append(answer)
    return kept


def _same_number(a: Any, b: Any) -> bool:
    try:
        return abs(float(a) - float(b)) < 1e-6
    except (TypeError, ValueError):
        return str(a).strip().lower() == str(b).strip().lower()


def _unit(text: Any) -> str:
    """A unit's comparable form: case, brackets, 'µ' and a superscript '²' ('kg/m²') aside."""
    value = str(text or "").lower().replace(" ", "").replace("µ", "u").replace("²", "2")
    if value in SAME_UNIT:
        return SAME_UNIT[value]
    value = value.replace("[", "").replace("]", "")
    return UNITS.get(value, value)


def _same_date(gold: str | None, predicted: str | None) -> bool:
    """Equal, or equal as far as the record prints it ('May 2012' for 2012-05-10)."""
    if not gold or not predicted:
        return gold == predicted
    return gold == predicted or (len(predicted) == 7 and gold.startswith(predicted))


def _check(tally: Tally, name: str, ok: bool, detail: str = "") -> None:
    tally.fields[name][0] += ok
    tally.fields[name][1] += 1
    if not ok:
        tally.wrong.append(f"{name}: {detail}")


def _check_date(tally: Tally, answer: dict[str, Any], predicted: Mapping[str, Any]) -> None:
    if answer.get("date"):
        ok = _same_date(answer["date"], predicted.get("date"))
        _check(tally, "date", ok, f"{answer['date']} vs {predicted.get('date')} | {predicted['text']}")


def _fields(kind: str, answer: dict[str, Any], predicted: Mapping[str, Any], tally: Tally) -> bool:
    """Check the key fields of a match; True when it is a lab whose value and unit are both right."""
    if kind == "medications":
        if answer.get("dose") is not None:
            ok = _same_number(answer["dose"], predicted.get("dose"))
            _check(tally, "dose", ok, f"{answer['dose']} vs {predicted.get('dose')} | {predicted['text']}")
        if answer.get("interval_hours") is not None:
            ok = _same_number(answer["interval_hours"], predicted.get("interval_hours"))
            _check(
                tally,
                "frequency",
                ok,
                f"{answer['interval_hours']} vs {predicted.get('frequency')} | {predicted['text']}",
            )
        elif answer.get("frequency"):
            _check(tally, "frequency", str(answer["frequency"]).lower() == str(predicted.get("frequency")).lower())
    elif kind == "labs":
        value_ok = unit_ok = True
        if answer.get("value") is not None:
            value_ok = _same_number(answer["value"], predicted.get("value_num", predicted.get("value"))) or (
                _same_number(answer["value"], predicted.get("value"))
            )
            _check(tally, "value", value_ok, f"{answer['value']} vs {predicted.get('value')} | {predicted['text']}")
        if answer.get("unit") and answer["unit"] != "1":
            unit_ok = _unit(answer["unit"]) == _unit(predicted.get("unit"))
            _check(tally, "unit", unit_ok, f"{answer['unit']} vs {predicted.get('unit')} | {predicted['text']}")
        if answer.get("flag"):
            _check(
                tally,
                "flag",
                answer["flag"] == predicted.get("flag"),
                f"{answer['flag']} vs {predicted.get('flag')} | {predicted['text']}",
            )
        _check_date(tally, answer, predicted)
        return value_ok and unit_ok
    elif kind == "vitals":
        if answer.get("type") == "blood_pressure":
            pair = (predicted.get("systolic"), predicted.get("diastolic"))
            _check(tally, "value", pair == (answer.get("systolic"), answer.get("diastolic")), predicted["text"])
        elif answer.get("value") is not None:
            ok = _same_number(answer["value"], predicted.get("value"))
            _check(tally, "value", ok, f"{answer['value']} vs {predicted.get('value')} | {predicted['text']}")
        if answer.get("unit") and answer["unit"] != "1":
            ok = _unit(answer["unit"]) == _unit(predicted.get("unit"))
            _check(tally, "unit", ok, f"{answer['unit']} vs {predicted.get('unit')} | {predicted['text']}")
    elif kind == "immunizations":
        _check_date(tally, answer, predicted)
        _check(tally, "status", (predicted.get("status") == "refused") == bool(answer.get("negated")))
    elif kind == "conditions" and answer.get("family") is not None:
        _check(tally, "family", ("family" in predicted.get("context", [])) == answer["family"])
    return False
