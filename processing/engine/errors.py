"""The two kinds of failure: retrying helps (transient) or it never will (permanent)."""


class ProcessingError(Exception):
    """A failure with a message fit to show to the document's owner."""

    def __init__(self, user_message: str) -> None:
        super().__init__(user_message)
        self.user_message = user_message


class PermanentError(ProcessingError):
    """The input itself is the problem (corrupt, unsupported, over a limit): never retried."""


class UnrenderablePage(PermanentError):
    """Poppler would not draw the page (it could not even create it): worth one more try on a
    copy that qpdf rewrote (`validation.rewrite_for_poppler`), never more."""


class TransientError(ProcessingError):
    """Something around the input failed (a timeout, a lost connection): worth retrying."""


def pages_named(first: int, last: int) -> str:
    """How a message names the pages a step was working on: "page 3" or "pages 3-18"."""
    return f"page {first}" if first == last else f"pages {first}-{last}"
