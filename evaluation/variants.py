"""A way of printing the corpus: a layout (`layouts.LAYOUTS`) and a mode (`scan.MODES`)."""

from typing import NamedTuple


class Variant(NamedTuple):
    layout: str
    mode: str

    def __str__(self) -> str:
        return f"{self.layout}/{self.mode}"
