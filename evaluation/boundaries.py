"""Encounter splitting scored on records stitched from several documents of one patient.

On the `records` layout, clean: 8 sets page-aligned with mixed report types, 8 printed
continuously (reports start mid-page after a signature line; half repeat their title on every
page) and 4 printed with no title and no page numbers, where only the date of service tells
one visit from the next; the patient's banner is reprinted the same on every report.
On the other layouts and on scans, 16 page-aligned sets of documents that already print the
same patient (the section examples share four made-up patients), stitched from the pages
already read, so no printout is read twice.
"""

import dataclasses
import random
from collections import Counter
from pathlib import Path

from evaluation import pages
from evaluation.ccda import Document
from evaluation.pages import CACHE
from evaluation.variants import Variant
from processing.engine.passes import run_passes
from processing.engine.results import PageJson

STITCHED_SETS = 16
UNTITLED_SETS = 4  # after the 16: page-aligned reports printed with no title and no page numbers
DOCUMENTS_PER_SET = 4


@dataclasses.dataclass
class Boundaries:
    tp: int = 0
    fp: int = 0
    fn: int = 0
    lines: list[str] = dataclasses.field(default_factory=list)

    def f1(self) -> float:
        precision = self.tp / max(self.tp + self.fp, 1)
        recall = self.tp / max(self.tp + self.fn, 1)
        return 2 * precision * recall / max(precision + recall, 1e-9)


def score_boundaries(
    documents: list[Document],
    variant: Variant,
    read_pages: dict[str, list[PageJson]],
    cache: Path = CACHE,
) -> Boundaries:
    full = variant == Variant("records", "clean")
    result = Boundaries()
    rng = random.Random(6)  # noqa: S311 - the same stitched sets every run, no secret
    pool = sorted(documents, key=lambda d: d.name)
    if not full:
        return _same_patient_sets(pool, read_pages, rng, result)
    for n in range(STITCHED_SETS + UNTITLED_SETS):
        # the first half mixes report types; the second takes any reports, so two progress
        # notes of different dates can follow each other
        untitled = n >= STITCHED_SETS
        if untitled:  # reports of different dates: only the date of service tells them apart
            with_date = [d for d in pool if d.date]
            picked = rng.sample(with_date, DOCUMENTS_PER_SET)
        else:
            picked = _varied(rng, pool) if n < STITCHED_SETS // 2 else rng.sample(pool, DOCUMENTS_PER_SET)
        patient = _varied(rng, pool)[0].patient  # one patient's record: the banner does not change
        chosen = [dataclasses.replace(d, patient=patient) for d in picked]
        continuous = n % 2 == 1 and not untitled
        if continuous:
            stitched, starts = pages.read_continuous(chosen, cache)
        else:
            stitched, starts = _stitch([pages.read(d, cache, untitled=untitled)[0] for d in chosen])
        layout = "continuous, reports start mid-page" if continuous else "page-aligned"
        _score_set(result, stitched, starts, "untitled, no page numbers" if untitled else layout, chosen)
    return result


def _same_patient_sets(
    pool: list[Document], read_pages: dict[str, list[PageJson]], rng: random.Random, result: Boundaries
) -> Boundaries:
    by_patient: dict[str, list[Document]] = {}
    for document in pool:
        by_patient.setdefault(document.patient.get("name", ""), []).append(document)
    groups = [group for group in by_patient.values() if len(group) >= DOCUMENTS_PER_SET]
    for _ in range(STITCHED_SETS if groups else 0):
        chosen = rng.sample(rng.choice(groups), DOCUMENTS_PER_SET)
        stitched, starts = _stitch([read_pages[d.name] for d in chosen])
        _score_set(result, stitched, starts, "page-aligned, one patient", chosen)
    return result


def _stitch(documents: list[list[PageJson]]) -> tuple[list[PageJson], list[int]]:
    stitched: list[PageJson] = []
    starts = []
    for read in documents:
        starts.append(len(stitched) + 1)
        stitched += [{**page, "number": len(stitched) + k + 1} for k, page in enumerate(read)]
    return stitched, starts


def _score_set(
    result: Boundaries, stitched: list[PageJson], starts: list[int], layout: str, chosen: list[Document]
) -> None:
    encounters = run_passes(stitched)["encounters"]
    # the first report always starts page 1: only the boundaries between reports count
    truth = Counter(starts[1:])
    predicted = Counter(e["pages"][0] for e in encounters[1:] if e["pages"])
    result.tp += sum((truth & predicted).values())
    result.fp += sum((predicted - truth).values())
    result.fn += sum((truth - predicted).values())
    found_on = [e["pages"][0] for e in encounters if e["pages"]]
    result.lines.append(
        f"  stitched set {len(result.lines) + 1} ({layout}): {len(stitched)} pages, "
        f"{', '.join(d.kind for d in chosen)}; reports start on pages {starts}, encounters found on {found_on}"
    )


def _varied(rng: random.Random, pool: list[Document]) -> list[Document]:
    """Documents of different types, in random order: a patient's record as a clinic gets it."""
    kinds: dict[str, list[Document]] = {}
    for document in pool:
        kinds.setdefault(document.kind, []).append(document)
    chosen_kinds = rng.sample(sorted(kinds), k=min(DOCUMENTS_PER_SET, len(kinds)))
    return [rng.choice(kinds[kind]) for kind in chosen_kinds]
