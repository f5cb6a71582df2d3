"""Words that a line end split with a hyphen ("maece-" / "nas"), joined back into one word.

Justified text breaks long words across lines; read line by line, both the text layer and
OCR give two words, and a search for "maecenas" finds nothing. The joined word keeps the box
of each piece (`Word.parts`), so a viewer can still outline both.

A hyphen that belongs to the word stays: "follow-" / "up" is "follow-up", "x-" / "ray" is
"x-ray". A line-end hyphen is taken for a real one when the piece before it is a word that
makes compounds, a single letter or already hyphenated, when the piece after it starts with a
capital or a digit ("COVID-" / "19", "Smith-" / "Jones"), or when the hyphen stands between
two equal vowels ("anti-" / "inflammatory", "re-" / "enter"), where typesetters keep it.
"""

from processing.engine.results import Word

HYPHENS = ("-", "\u2010", "\u00ad", "\u00ac")  # hyphen-minus, hyphen, soft hyphen, OCR's "¬"
# Words that are printed hyphenated to the next rather than broken inside: a line end after
# them is a compound's hyphen (no list of such words is complete; these are the common ones).
COMPOUND_FIRST = frozenset(
    {
        "follow", "self", "non", "well", "ex", "long", "short", "full", "part", "high", "low", "left", "right",
        "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "twice", "once", "day",
        "week", "month", "year", "half", "all", "cross", "double", "end", "first", "second", "third", "mid",
        "multi", "semi", "single", "step", "vice", "side", "check",
    }
)  # fmt: skip
VOWELS = frozenset("aeiou")


def join_hyphenated(lines: list[list[Word]]) -> list[list[Word]]:
    """Consecutive lines of one block, a word broken at a line end moved whole onto the first
    line. A line keeps its place even when the move leaves it empty (its only word joined the
    line above), so callers can still tell which paragraph each line is in.
    """
    joined: list[list[Word]] = [list(line) for line in lines]
    for index in range(len(joined) - 1):
        line, following = joined[index], joined[index + 1]
        if not line or not following:
            continue
        word = _joined(line[-1], following[0])
        if word is not None:
            line[-1] = word
            del following[0]
    return joined


def _joined(head: Word, tail: Word) -> Word | None:
    """`head` (ending with a hyphen) and `tail` as one word, or None when they are two."""
    text = head.text
    if len(text) < 2 or not text.endswith(HYPHENS) or not tail.text:
        return None
    stem = text[:-1]
    if not stem[-1].isalpha() or not (tail.text[0].isalpha() or tail.text[0].isdigit()):
        return None
    keep = _real_hyphen(stem, tail.text)
    glue = "-" if keep else ""
    return Word(
        text=f"{stem}{glue}{tail.text}",
        box=list(head.box),
        confidence=min(head.confidence, tail.confidence),
        parts=[*(head.parts or [list(head.box)]), *(tail.parts or [list(tail.box)])],
    )


def _real_hyphen(stem: str, tail: str) -> bool:
    last_piece = stem.rsplit("-", 1)[-1].lower()
    return (
        "-" in stem
        or len(last_piece) == 1
        or last_piece in COMPOUND_FIRST
        or tail[0].isupper()
        or tail[0].isdigit()
        or (last_piece[-1] in VOWELS and last_piece[-1] == tail[0].lower())
    )
