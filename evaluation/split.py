"""The development / held-out split of the shared medcorpus, by document, fixed before tuning.

    .venv/bin/python -m evaluation.split [--corpus /work/shared/medcorpus]   # rewrites split.tsv

Within each stratum (the HL7 example's section, the SMART sample's vendor, the medSpaCy note)
documents are ordered by the sha256 of their file name and the first 60% (at least one) are
development; the rest are held out. The rule depends on file names only, so adding a document
never moves another one across the split. `split.tsv` is the record of it: the evaluation reads
that file, not this rule, so a document's part cannot drift.
"""

import argparse
import hashlib
import math
from collections.abc import Iterable
from functools import cache
from pathlib import Path

SPLIT_FILE = Path(__file__).with_name("split.tsv")
SHARED_CORPUS = Path("/work/shared/medcorpus")
DEVELOPMENT, HELD_OUT = "dev", "held-out"
PARTS = (DEVELOPMENT, HELD_OUT)
DEV_SHARE = 0.6
# files that belong to a document named by another file (the medSpaCy note's reference)
COMPANIONS = {"discharge_summary.gold.json": "discharge_summary.txt"}


def stratum(relative: str) -> str:
    """The kind of document: its folder and, inside a folder of many sources, its source."""
    folder, _, name = relative.partition("/")
    if folder == "medspacy":
        return folder
    return f"{folder}/{name.split('_')[0]}"


def assign(files: Iterable[str]) -> dict[str, str]:
    """Each file (path relative to the corpus) mapped to its part."""
    documents = sorted({f for f in files if f.rsplit("/", 1)[-1] not in COMPANIONS})
    by_stratum: dict[str, list[str]] = {}
    for document in documents:
        by_stratum.setdefault(stratum(document), []).append(document)
    parts: dict[str, str] = {}
    for members in by_stratum.values():
        ordered = sorted(members, key=lambda f: hashlib.sha256(f.rsplit("/", 1)[-1].encode()).hexdigest())
        development = max(1, math.floor(len(ordered) * DEV_SHARE + 0.5))
        for index, document in enumerate(ordered):
            parts[document] = DEVELOPMENT if index < development else HELD_OUT
    for file in files:
        folder, _, name = file.rpartition("/")
        if name in COMPANIONS:
            parts[file] = parts[f"{folder}/{COMPANIONS[name]}"]
    return parts


def corpus_files(corpus: Path) -> list[str]:
    return sorted(str(p.relative_to(corpus)) for p in corpus.rglob("*") if p.is_file() and p.parent != corpus)


def write(corpus: Path, target: Path = SPLIT_FILE) -> dict[str, str]:
    parts = assign(corpus_files(corpus))
    lines = ["file\tstratum\tpart"] + [f"{f}\t{stratum(f)}\t{parts[f]}" for f in sorted(parts)]
    target.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return parts


@cache
def recorded() -> dict[str, str]:
    """The split as written down: file (relative to the corpus) -> part."""
    rows = SPLIT_FILE.read_text(encoding="utf-8").splitlines()[1:]
    return {file: part for file, _, part in (row.split("\t") for row in rows if row)}


def part_of(relative: str) -> str:
    """A document's part; a document the split does not list is an error, never silently dev."""
    try:
        return recorded()[relative]
    except KeyError:
        raise KeyError(f"{relative} is not in {SPLIT_FILE.name}: add it with `python -m evaluation.split`") from None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--corpus", type=Path, default=SHARED_CORPUS)
    args = parser.parse_args()
    parts = write(args.corpus)
    counts = {part: sum(1 for p in parts.values() if p == part) for part in PARTS}
    print(f"{len(parts)} files: {counts}")


if __name__ == "__main__":
    main()
