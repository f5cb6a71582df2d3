"""Score the extraction passes on printed C-CDA documents read by the real pipeline (OCR forced).

    .venv/bin/python -m evaluation.evaluate_passes [--data tests/data/medcorpus] [--show-errors]

Each document's narrative is printed to PDF, read by the engine's `process_file` with OCR
forced, and run through `run_passes`; its coded entries are the answer key. Encounter
splitting is scored on records stitched from several documents of one patient, of different
types and dates.
"""

import argparse
import dataclasses
import random
import time
from collections import Counter
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from evaluation import pages
from evaluation.ccda import Document
from evaluation.corpus import load_documents
from evaluation.score import Negation, Tally, names_match, score_document
from processing.engine.passes import run_passes
from processing.engine.results import PageJson

DEFAULT_DATA = Path(__file__).resolve().parents[1] / "tests" / "data" / "medcorpus"
KINDS = (
    "medications", "vitals", "allergies", "immunizations", "labs", "labs (value+unit)",
    "labs (value+unit), as printed", "conditions", "procedures",
)  # fmt: skip
GOALS = {"medications": 0.9, "vitals": 0.9, "allergies": 0.9, "immunizations": 0.9, "labs (value+unit)": 0.85}
GOALS["conditions"] = 0.8
GOALS["labs (value+unit), as printed"] = 0.85
STITCHED_SETS = 16
UNTITLED_SETS = 4  # after the 16: page-aligned reports printed with no title and no page numbers
DOCUMENTS_PER_SET = 4


class Evaluation:
    """Precision, recall and F1 of the extraction passes against C-CDA coded entries."""

    def __init__(self, out: Any = None) -> None:
        self.stdout = out or _Printer()

    def run(self, data: Path, cache: Path, show_errors: bool) -> None:
        started = time.perf_counter()
        documents = load_documents(data)
        read_pages: dict[str, list[PageJson]] = {}
        cached = 0
        for document in documents:
            read_pages[document.name], hit = pages.read(document, cache)
            cached += hit
        self.stdout.write(f"{len(documents)} documents, {sum(len(p) for p in read_pages.values())} pages "
                          f"({cached} documents from the OCR cache in {cache})")  # fmt: skip
        tallies: dict[str, Tally] = {}
        negation = Negation()
        passes_seconds = 0.0
        for document in documents:
            clock = time.perf_counter()
            result = run_passes(read_pages[document.name], date_order="MDY")
            passes_seconds += time.perf_counter() - clock
            printed = "\n".join(_rows(document))
            score_document(document.gold, result["records"], tallies, negation, document.name, printed)
        self._report(tallies, negation, show_errors)
        self._encounters(documents, cache, read_pages)
        self.stdout.write(
            f"\npasses: {passes_seconds:.2f} s for all documents; total {time.perf_counter() - started:.1f} s"
        )

    def _report(self, tallies: dict[str, Tally], negation: Negation, show_errors: bool) -> None:
        self.stdout.write(
            "\nunkeyed: predictions in documents whose key codes no such record; for 'as printed', key"
            " values the printout does not show"
        )
        columns = f"{'gold':>6}{'TP':>5}{'FP':>5}{'FN':>5}{'P':>7}{'R':>7}{'F1':>7}{'unkeyed':>9}"
        self.stdout.write(f"{'record type':<31}{columns}  goal      key fields")
        for kind in KINDS:
            tally = tallies.get(kind)
            if tally is None:
                continue
            precision, recall, f1 = tally.prf()
            goal = GOALS.get(kind)
            mark = "" if goal is None else (f"{'ok' if f1 >= goal else 'MISS'} {goal:.2f}")
            fields = ", ".join(f"{name} {ok}/{n} ({ok / n:.0%})" for name, (ok, n) in sorted(tally.fields.items()) if n)
            self.stdout.write(
                f"{kind:<31}{tally.tp + tally.fn:>6}{tally.tp:>5}{tally.fp:>5}{tally.fn:>5}"
                f"{precision:>7.2f}{recall:>7.2f}{f1:>7.2f}{tally.unkeyed:>9}  {mark:<9} {fields}"
            )
        total = negation.negated_total
        right = negation.negated_right
        self.stdout.write(
            f"\nnegation: {right}/{total} negated mentions marked negated ({right / max(total, 1):.0%}, goal 95%); "
            f"{negation.affirmed_right}/{negation.affirmed_total} affirmed mentions left affirmed"
        )
        if show_errors:
            for missed in negation.missed:
                self.stdout.write(f"  NEGATION missed: {missed}")
            for kind, tally in tallies.items():
                for miss in tally.misses:
                    self.stdout.write(f"  FN {kind}: {miss}")
                for extra in tally.extras:
                    self.stdout.write(f"  FP {kind}: {extra}")
                for example in tally.unkeyed_examples:
                    self.stdout.write(f"  UNKEYED {kind}: {example}")
                for wrong in tally.wrong:
                    self.stdout.write(f"  WRONG {kind}: {wrong}")

    def _encounters(self, documents: list[Document], cache: Path, read_pages: dict[str, list[PageJson]]) -> None:
        """Boundary F1 on stitched records, plus type and date of service on single documents."""
        right: Counter[str] = Counter()
        dated = with_provider = with_facility = 0
        for document in documents:
            found = run_passes(read_pages[document.name])["encounters"]
            first: Mapping[str, Any] = found[0] if found else {}
            right["type"] += first.get("type") == document.kind
            right["one encounter"] += len(found) == 1
            if document.date:  # section examples with no dated entry have no date to find
                dated += 1
                right["date"] += first.get("start_date") == document.date
            if document.provider:
                with_provider += 1
                right["provider"] += names_match([document.provider], [first.get("provider") or ""])
            if document.facility:
                with_facility += 1
                right["facility"] += names_match([document.facility], [first.get("facility") or ""])
        n = len(documents)
        self.stdout.write(
            f"\nencounters on single documents: type {right['type']}/{n}, one encounter {right['one encounter']}/{n}, "
            f"date of service {right['date']}/{dated}, provider {right['provider']}/{with_provider}, "
            f"facility {right['facility']}/{with_facility}"
        )
        tp = fp = fn = 0
        rng = random.Random(6)  # noqa: S311 - the same stitched sets every run, no secret
        pool = sorted(documents, key=lambda d: d.name)
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
            stitched: list[PageJson]
            starts: list[int]
            if continuous:
                stitched, starts = pages.read_continuous(chosen, cache)
            else:
                stitched, starts = [], []
                for document in chosen:
                    read, _ = pages.read(document, cache, untitled=untitled)
                    starts.append(len(stitched) + 1)
                    stitched += [{**page, "number": len(stitched) + k + 1} for k, page in enumerate(read)]
            encounters = run_passes(stitched)["encounters"]
            # the first report always starts page 1: only the boundaries between reports count
            truth = Counter(starts[1:])
            predicted = Counter(e["pages"][0] for e in encounters[1:] if e["pages"])
            tp += sum((truth & predicted).values())
            fp += sum((predicted - truth).values())
            fn += sum((truth - predicted).values())
            layout = "continuous, reports start mid-page" if continuous else "page-aligned"
            layout = "untitled, no page numbers" if untitled else layout
            found_on = [e["pages"][0] for e in encounters if e["pages"]]
            self.stdout.write(
                f"  stitched set {n + 1} ({layout}): {len(stitched)} pages, {', '.join(d.kind for d in chosen)}; "
                f"reports start on pages {starts}, encounters found on {found_on}"
            )
        precision = tp / max(tp + fp, 1)
        recall = tp / max(tp + fn, 1)
        f1 = 2 * precision * recall / max(precision + recall, 1e-9)
        self.stdout.write(
            f"encounter boundaries: TP {tp} FP {fp} FN {fn}; P {precision:.2f} R {recall:.2f} F1 {f1:.2f} (goal 0.90)"
        )


def _rows(document: Document) -> list[str]:
    """The printed rows of a document: each paragraph, each table row."""
    rows = []
    for block in document.blocks:
        rows += [block.text] if block.kind != "table" else [" ".join(r) for r in [block.header, *block.rows]]
    return rows


def _varied(rng: random.Random, pool: list[Document]) -> list[Document]:
    """Documents of different types, in random order: a patient's record as a clinic gets it."""
    kinds: dict[str, list[Document]] = {}
    for document in pool:
        kinds.setdefault(document.kind, []).append(document)
    chosen_kinds = rng.sample(sorted(kinds), k=min(DOCUMENTS_PER_SET, len(kinds)))
    return [rng.choice(kinds[kind]) for kind in chosen_kinds]


class _Printer:
    def write(self, text: str) -> None:
        print(text)


def main() -> None:
    parser = argparse.ArgumentParser(description=Evaluation.__doc__)
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--cache", type=Path, default=pages.CACHE)
    parser.add_argument("--show-errors", action="store_true", help="list misses and false positives")
    args = parser.parse_args()
    Evaluation().run(args.data, args.cache, args.show_errors)


if __name__ == "__main__":
    main()
