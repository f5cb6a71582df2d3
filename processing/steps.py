"""The contract of a pipeline step, and how every step is run (the steps are in pipeline.py).

A document goes through its steps one broker message at a time: a step is what one message
does for one document. Each step says in its class what it

    needs        what must hold for it to do anything,
    produces     what it leaves behind, and what it sends next,
    cleans_up    what `cleanup()` removes, whatever happened,

and keeps these promises, which `run_step` relies on:

    nothing to do  `run()` returns False when the document is finished or gone, or another
                   delivery of the same message did the work: the run is recorded as skipped.
    twice          a message may be delivered twice, even at once: whatever `run()` stores, it
                   stores once (a lock, a conditional update), so a repeat is harmless.
    a bad input    raise `PermanentError` with a message for the owner: the document fails at
                   once and the message is not retried.
    anything else  let it raise: the broker retries the message (about 2, 4 and 8 s later) and,
                   when the retries run out, the document fails with a reason.

Every run is recorded as an `Attempt` of the document's job, with how it ended.
"""

import logging
from abc import ABC, abstractmethod
from typing import ClassVar

from dramatiq.middleware import CurrentMessage, TimeLimitExceeded

from documents import lifecycle
from processing import attempts
from processing.engine.errors import PermanentError, ProcessingError
from processing.models import Attempt

logger = logging.getLogger(__name__)

# A failed run is tried again about 2, 4 and 8 s later (milliseconds, as Dramatiq counts).
MAX_RETRIES = 3
MIN_BACKOFF_MS = 2_000
MAX_BACKOFF_MS = 8_000


class Step(ABC):
    stage: ClassVar[str]  # how its runs are recorded: an Attempt.Stage
    needs: ClassVar[str]
    produces: ClassVar[str]
    cleans_up: ClassVar[str] = "nothing"

    def __init__(self, document_id: str) -> None:
        self.document_id = str(document_id)

    @property
    def page_number(self) -> int | None:
        """The page its attempt is recorded against, if it reads pages."""
        return None

    @abstractmethod
    def run(self) -> bool:
        """Do the step; False when there was nothing to do."""

    def cleanup(self) -> None:  # noqa: B027 (most steps leave nothing behind)
        """Remove what the run left behind; called whether `run()` returned or raised."""


def run_step(step: Step) -> None:
    """Run a step as one recorded attempt of the document's job, and fail the document when
    retrying cannot help (a permanent error) or did not (out of retries)."""
    attempt = attempts.attempt_start(step.document_id, step.stage, step.page_number)
    try:
        did_work = step.run()
    except PermanentError as exc:
        lifecycle.document_fail(step.document_id, exc.user_message)
        attempts.attempt_end(attempt, Attempt.Outcome.FAILED, exc)
    # TimeLimitExceeded is not an Exception; uncaught, a page that always times out would leave
    # its document reading for ever once the retries ran out.
    except (Exception, TimeLimitExceeded) as exc:
        if _will_be_retried():
            logger.warning("retrying %s for %s after: %s", type(step).__name__, step.document_id, exc)
            attempts.attempt_end(attempt, Attempt.Outcome.RETRYING, exc)
            raise
        logger.exception("giving up on %s for %s", type(step).__name__, step.document_id)
        lifecycle.document_fail(step.document_id, _out_of_retries_reason(exc))
        attempts.attempt_end(attempt, Attempt.Outcome.FAILED, exc)
    else:
        attempts.attempt_end(attempt, Attempt.Outcome.SUCCEEDED if did_work else Attempt.Outcome.SKIPPED)
    finally:
        step.cleanup()


def _out_of_retries_reason(exc: BaseException) -> str:
    reason = exc.user_message if isinstance(exc, ProcessingError) else "An internal error stopped processing."
    return f"{reason} We tried {MAX_RETRIES + 1} times."


def _will_be_retried() -> bool:
    message = CurrentMessage.get_current_message()
    # Outside a worker (no current message) nothing would retry it.
    retries = message.options.get("retries", 0) if message else MAX_RETRIES
    return bool(retries < MAX_RETRIES)
