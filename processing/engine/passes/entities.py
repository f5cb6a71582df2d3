"""Pass 1: clinical mentions, each with its section and ConText, found by phrase matching.

What a vocabulary match means depends on where it is printed: a drug under 'Allergies' is an
allergen, a disease under 'Family history' is not the patient's, a drug name in a sentence
with no dose, route or frequency and outside a medication list is left alone (the PyPI drug
list holds many chemical names that records use for other things).
"""

import re
from dataclasses import dataclass

from processing.engine.passes import context, dates, vocabulary
from processing.engine.passes.context import Context
from processing.engine.passes.layout import Line

SIG_HINT = re.compile(
    r"\b\d[\d.,]*\s*(mg|mcg|g|ml|units?|unt|meq|%|iu)\b|\b(po|iv|im|sq|subq|bid|tid|qid|qd|qhs|prn|daily|q\d+h)\b",
    re.I,
)
NO_KNOWN_ALLERGY = re.compile(
    r"\b(no known (drug |medication |food )?allergies|nkda|nka|no allergies|no known allergy)\b", re.I
)
NO_KNOWN_PROBLEM = re.compile(r"\bno (known |active |current )?(problems|diagnoses|medical problems)\b", re.I)
NO_MEDICATION = re.compile(
    r"\b(no (known |current |active |home |hospital discharge |discharge )*medications|no meds|"
    r"not (currently )?taking any medications)\b",
    re.I,
)
VACCINE_HINT = re.compile(r"vaccin|immuni[sz]", re.I)
SKIP_CONDITIONS_IN = {"labs", "vitals", "medications", "allergies", "immunizations", "social_history", "functional"}
# A label that makes what follows on its line an aim, not a problem the patient has ('Goal:
# weight loss'). Instructions keep their mentions: ConText marks 'call if you develop fever'.
NOT_A_PROBLEM_LABELS = frozenset({"goal", "goals", "target", "targets", "education", "counseling"})


@dataclass
class Mention:
    kind: str  # medication, condition, procedure, lab, vaccine, allergen, no_known_allergies
    canonical: str
    code: str
    line: Line
    position: int  # index of the line in the document
    tokens: tuple[int, int]  # token span in the line
    context: Context

    @property
    def words(self) -> list[int]:
        start = self.line.tokens[self.tokens[0]].word
        end = self.line.tokens[self.tokens[1] - 1].word
        return list(range(start, end + 1))

    @property
    def text(self) -> str:
        return self.line.words_text(self.words).strip(" .,;:()[]")


def sections_of(lines: list[Line]) -> list[str]:
    """The section category of every line; a header line belongs to the section it opens."""
    current = ""
    found = []
    for line in lines:
        header = context.header_category(line)
        if header is not None:
            current = header[0]
        found.append(current)
    return found


def find_mentions(lines: list[Line], section_of: list[str], skip: set[int] | None = None) -> list[Mention]:
    """Mentions on every line but those in `skip` (report titles: 'Allergy List' names no allergy)."""
    mentions: list[Mention] = []
    drugs, conditions, vaccines = vocabulary.drugs(), vocabulary.conditions(), vocabulary.vaccines()
    lab_index, _ = vocabulary.labs()
    allergens = vocabulary.allergens()
    short = vocabulary.short_abbreviations()
    for position, line in enumerate(lines):
        section = section_of[position]
        tokens = [t.lower for t in line.tokens]
        if skip and position in skip:
            continue
        header = context.header_category(line)
        first = header[1] if header else 0
        if header and first == len(tokens):
            continue  # a header line names no entity
        text = line.text
        found = _Found(mentions, line, position, tokens, section)
        add, free = found.add, found.free

        if section == "allergies" or "allerg" in text.lower():
            for match in NO_KNOWN_ALLERGY.finditer(text):
                span = _token_span(line, match.start(), match.end())
                if span:
                    add("no_known_allergies", *span, "no known allergies")
        for pattern, kind in ((NO_KNOWN_PROBLEM, "no_known_problems"), (NO_MEDICATION, "no_medications")):
            for match in pattern.finditer(text):
                span = _token_span(line, match.start(), match.end())
                if span:
                    add(kind, *span, match.group().lower())
        if section == "immunizations" or VACCINE_HINT.search(text):
            for s, e, entry in vaccines.find(tokens, first):
                if free(s, e):
                    add("vaccine", s, e, entry.canonical, entry.code)
        if section in ("labs", "") or section == "hpi" or _has_value_after(tokens, 0):
            for s, e, entry in lab_index.find(tokens, first):
                if (
                    free(s, e)
                    and section not in ("medications", "allergies", "immunizations", "vitals")
                    and _lab_name_ok(line, s, e)
                    and _has_value_after(_masked(line, e), 0)
                ):
                    add("lab", s, e, entry.canonical, entry.code)
        for s, e, entry in drugs.find(tokens, first):
            if not free(s, e) or section in ("labs", "vitals", "immunizations"):
                continue
            phrase = " ".join(tokens[s:e])
            if section == "allergies" or (section == "" and "allerg" in text.lower()):
                add("allergen", s, e, entry.canonical)
            elif phrase in vocabulary.AMBIGUOUS_DRUG_WORDS and section != "medications":
                continue
            elif section == "medications" or SIG_HINT.search(" ".join(tokens[e : e + 12])):
                if not _short_ok(line, s, e, phrase):
                    continue
                add("medication", s, e, entry.canonical)
        if section == "allergies" or "allerg" in text.lower():
            for s, e, entry in allergens.find(tokens, first):
                if free(s, e):
                    add("allergen", s, e, entry.canonical)
        if section in SKIP_CONDITIONS_IN:
            continue
        for s, e, entry in conditions.find(tokens, first):
            if (
                free(s, e)
                and _short_ok(line, s, e, " ".join(tokens[s:e]), short=short)
                and not _labelled_aim(tokens, s)
            ):
                add(entry.kind, s, e, entry.canonical, entry.code)
    return mentions


class _Found:
    """The mentions of one line, so that a phrase is claimed by one vocabulary only."""

    def __init__(self, mentions: list[Mention], line: Line, position: int, tokens: list[str], section: str) -> None:
        self.mentions, self.line, self.position, self.tokens, self.section = mentions, line, position, tokens, section
        self.taken: list[tuple[int, int]] = []

    def add(self, kind: str, start: int, end: int, canonical: str, code: str = "") -> None:
        ctx = context.assess(self.tokens, start, end, self.section)
        self.mentions.append(Mention(kind, canonical, code, self.line, self.position, (start, end), ctx))
        self.taken.append((start, end))

    def free(self, start: int, end: int) -> bool:
        return not any(start < e and s < end for s, e in self.taken)


def _labelled_aim(tokens: list[str], start: int) -> bool:
    """Whether a 'Goal:' label stands before `start` on the line."""
    return any(
        token in NOT_A_PROBLEM_LABELS and tokens[k + 1 : k + 2] == [":"] for k, token in enumerate(tokens[:start])
    )


def _short_ok(line: Line, s: int, e: int, phrase: str, short: frozenset[str] = frozenset(), **kw: bool) -> bool:
    """Short names ('CAP', 'PE', 'K') count only when printed in capitals, as abbreviations are."""
    if len(phrase) > 4:
        return True
    printed = "".join(t.text for t in line.tokens[s:e])
    return printed.isupper() or any(c.isdigit() for c in printed)


def _lab_name_ok(line: Line, s: int, e: int) -> bool:
    """'Na', 'K', 'Cr' are lab names; 'mg' in 'mg/dL' or 'k' in a word are not."""
    printed = "".join(t.text for t in line.tokens[s:e])
    if len(printed) > 3:
        return True
    following = line.tokens[e].text if e < len(line.tokens) else ""
    return printed[:1].isupper() and following != "/"


def _masked(line: Line, e: int) -> list[str]:
    """The tokens after a lab name with dates and times blanked, so '10-03-2012' is no value."""
    rest = " ".join(line.words[line.tokens[e - 1].word + 1 :][:10])
    for found in dates.find_dates(rest):
        rest = rest[: found.start] + " " * (found.end - found.start) + rest[found.end :]
    rest = re.sub(r"\b\d{1,2}\s*:\s*\d{2}(\s*:\s*\d{2})?\s*[ap]?m?\b", " ", rest, flags=re.I)
    return [t.lower().strip(",.;:()") for t in rest.split()]


def _has_value_after(tokens: list[str], end: int, width: int = 10) -> bool:
    window = tokens[end : end + width]
    return any(any(c.isdigit() for c in t) for t in window) or any(
        t in ("negative", "positive", "detected", "pending", "amber", "borderline", "unable", "reactive")
        for t in window
    )


def _token_span(line: Line, start: int, end: int) -> tuple[int, int] | None:
    """Token indexes of line.text[start:end] (text joins cells by two spaces, words by one)."""
    offsets = word_offsets(line)
    words = [i for i, (s, e) in enumerate(offsets) if s < end and start < e]
    if not words:
        return None
    toks = [k for k, t in enumerate(line.tokens) if t.word in words]
    return (toks[0], toks[-1] + 1) if toks else None


def word_offsets(line: Line) -> list[tuple[int, int]]:
    """(start, end) of each word in line.text."""
    offsets: list[tuple[int, int]] = [(0, 0)] * len(line.words)
    position = 0
    cells = line.cells or []
    groups = [c.words for c in cells] if cells else [list(range(len(line.words)))]
    for g, words in enumerate(groups):
        if g:
            position += 2
        for k, i in enumerate(words):
            if k:
                position += 1
            offsets[i] = (position, position + len(line.words[i]))
            position += len(line.words[i])
    return offsets
