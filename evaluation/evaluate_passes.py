"""Score the extraction passes on printed C-CDA documents read by the real pipeline (OCR forced).

    .venv/bin/python -m evaluation.evaluate_passes [--part dev|held-out|both] [--layout L ...|--layout]
        [--mode clean|degraded|both] [--show-errors] [--data tests/data/medcorpus]

Each document's narrative is printed to PDF in a layout (`layouts.py`: `records`, `dated`,
`letter`; `--layout` alone prints all three), optionally scanned badly (`scan.py`), read by the
engine's `process_file` with OCR forced, and run through `run_passes`; its coded entries are the
answer key. Documents are taken from one part of the recorded split (`split.tsv`): tune on
`dev` only. Encounter splitting is scored on records stitched from several documents.
"""

import argparse
import time
from collections import Counter
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from evaluation import pages
from evaluation.boundaries import score_boundaries
from evaluation.ccda import Document
from evaluation.corpus import load_documents
from evaluation.layouts import LAYOUTS
from evaluation.scan import MODES
from evaluation.score import Negation, Tally, names_match, score_document
from evaluation.split import DEVELOPMENT, PARTS
from evaluation.variants import Variant
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
SUMMARY_KINDS = ("medications", "vitals", "allergies", "immunizations", "labs (value+unit), as printed", "conditions")
SHORT = {"labs (value+unit), as printed": "labs v+u", "immunizations": "immuniz.", "medications": "meds"}


class Evaluation:
    """Precision, recall and F1 of the extraction passes against C-CDA coded entries."""

    def __init__(self, out: Any = None) -> None:
        self.stdout = out or _Printer()

    def run(
        self, data: Path, cache: Path, show_errors: bool, parts: tuple[str, ...] = (DEVELOPMENT,),
        variants: tuple[Variant, ...] = (Variant("records", "clean"),), boundaries: bool = True,
    ) -> None:  # fmt: skip
        started = time.perf_counter()
        summary: list[str] = []
        for part in parts:
            documents = load_documents(data, (part,))
            for variant in variants:
                self.stdout.write(f"\n=== {part}, layout {variant.layout}, {variant.mode} ===")
                summary.append(self._variant(part, documents, variant, cache, show_errors, boundaries))
        self.stdout.write(f"\nF1 per record type; negation right/negated; encounter boundary F1 (goals {_goals()})")
        kinds = "".join(f"{SHORT.get(k, k):>10}" for k in SUMMARY_KINDS)
        self.stdout.write(f"{'part':<9}{'layout':<9}{'mode':<9}{kinds}{'negation':>10}{'bounds':>8}")
        for line in summary:
            self.stdout.write(line)
        self.stdout.write(f"\ntotal {time.perf_counter() - started:.1f} s")

    def _variant(
        self, part: str, documents: list[Document], variant: Variant, cache: Path, show_errors: bool, boundaries: bool
    ) -> str:
        read_pages: dict[str, list[PageJson]] = {}
        cached = 0
        for document in documents:
            read, hit = pages.read(document, cache, layout=variant.layout, mode=variant.mode)
            read_pages[document.name] = read
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
        self._single_encounters(documents, read_pages)
        stitched = score_boundaries(documents, variant, read_pages, cache) if boundaries else None
        if stitched is not None:
            for line in stitched.lines if show_errors else []:
                self.stdout.write(line)
            self.stdout.write(
                f"encounter boundaries: TP {stitched.tp} FP {stitched.fp} FN {stitched.fn}; "
                f"F1 {stitched.f1():.2f} (goal 0.90)"
            )
        self.stdout.write(f"passes: {passes_seconds:.2f} s for all documents")
        f1s = "".join(f"{tallies[k].prf()[2] if k in tallies else float('nan'):>10.2f}" for k in SUMMARY_KINDS)
        negated = f"{negation.negated_right}/{negation.negated_total}"
        bounds = f"{stitched.f1():.2f}" if stitched is not None else "-"
        return f"{part:<9}{variant.layout:<9}{variant.mode:<9}{f1s}{negated:>10}{bounds:>8}"

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

    def _single_encounters(self, documents: list[Document], read_pages: dict[str, list[PageJson]]) -> None:
        """Type, date of service, provider and facility of single documents."""
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


def _rows(document: Document) -> list[str]:
    """The printed rows of a document: each paragraph, each table row."""
    rows = []
    for block in document.blocks:
        rows += [block.text] if block.kind != "table" else [" ".join(r) for r in [block.header, *block.rows]]
    return rows


def _goals() -> str:
    return ", ".join(f"{SHORT.get(k, k)} {GOALS[k]:.2f}" for k in SUMMARY_KINDS) + ", negation 95%, bounds 0.90"


class _Silent:
    def write(self, text: str) -> None:
        pass


class _Printer:
    def write(self, text: str) -> None:
        print(text)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--cache", type=Path, default=pages.CACHE)
    parser.add_argument("--part", choices=[*PARTS, "both"], default=DEVELOPMENT, help="which part of the split")
    parser.add_argument(
        "--layout", nargs="*", choices=LAYOUTS, default=["records"], help="layouts to print (alone: all of them)"
    )
    parser.add_argument("--mode", choices=[*MODES, "both"], default="clean", help="clean printout or degraded scan")
    parser.add_argument("--show-errors", action="store_true", help="list misses and false positives")
    parser.add_argument("--no-boundaries", action="store_true", help="skip the stitched records (quicker)")
    parser.add_argument(
        "--read-only",
        action="store_true",
        help="print and read the documents into the OCR cache, showing no figure (warms the held-out part unseen)",
    )
    args = parser.parse_args()
    parts = PARTS if args.part == "both" else (args.part,)
    layouts = args.layout or LAYOUTS
    modes = MODES if args.mode == "both" else (args.mode,)
    variants = tuple(Variant(layout, mode) for layout in layouts for mode in modes)
    Evaluation(out=_Silent() if args.read_only else None).run(
        args.data, args.cache, args.show_errors, parts, variants, boundaries=not args.no_boundaries
    )


if __name__ == "__main__":
    main()
