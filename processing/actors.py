"""Dramatiq actors: thin wrappers that run a pipeline stage and decide what a failure means.

A permanent error fails the document at once; anything else (a time limit included) is
retried with backoff (about 2 s, 4 s, 8 s) and fails the document, with a reason, when the
retries run out. Every run is recorded as an `Attempt` of the document's job.
"""

import functools
import logging
from collections.abc import Callable

import dramatiq
from django.conf import settings
from dramatiq.middleware import CurrentMessage, TimeLimitExceeded

from processing import dispatch, pipeline, services
from processing.errors import PermanentError, ProcessingError
from processing.models import Attempt

logger = logging.getLogger(__name__)

MAX_RETRIES = 3
RETRY_OPTIONS = {"max_retries": MAX_RETRIES, "min_backoff": 2_000, "max_backoff": 8_000}

# A stage returns False when it found nothing to do (None counts as done).
Stage = Callable[..., bool | None]


def _fails_document_when_out_of_retries(stage_name: str) -> Callable[[Stage], Stage]:
    """Run a stage as one recorded attempt of the document's job, and fail the document when
    retrying cannot help (a permanent error) or did not (out of retries)."""

    def decorate(stage: Stage) -> Stage:
        @functools.wraps(stage)
        def run(document_id: str, *args: object) -> None:
            attempt = services.record_attempt_start(document_id, stage_name, page_number=args[0] if args else None)
            try:
                did_work = stage(document_id, *args)
            except PermanentError as exc:
                services.fail(document_id, exc.user_message)
                services.record_attempt_end(attempt, Attempt.Outcome.FAILED, exc)
            # TimeLimitExceeded is not an Exception; uncaught, a page that always times out
            # would leave its document reading for ever once the retries ran out.
            except (Exception, TimeLimitExceeded) as exc:
                if _will_be_retried():
                    logger.warning("retrying %s for %s after: %s", stage.__name__, document_id, exc)
                    services.record_attempt_end(attempt, Attempt.Outcome.RETRYING, exc)
                    raise
                logger.exception("giving up on %s for %s", stage.__name__, document_id)
                services.fail(document_id, _out_of_retries_reason(exc))
                services.record_attempt_end(attempt, Attempt.Outcome.FAILED, exc)
            else:
                outcome = Attempt.Outcome.SKIPPED if did_work is False else Attempt.Outcome.SUCCEEDED
                services.record_attempt_end(attempt, outcome)

        return run

    return decorate


def _out_of_retries_reason(exc: BaseException) -> str:
    reason = exc.user_message if isinstance(exc, ProcessingError) else "An internal error stopped processing."
    return f"{reason} We tried {MAX_RETRIES + 1} times."


def _will_be_retried() -> bool:
    message = CurrentMessage.get_current_message()
    # Outside a worker (no current message) nothing would retry it.
    retries = message.options.get("retries", 0) if message else MAX_RETRIES
    return retries < MAX_RETRIES


# Starting is quick and decides what the workers do next, so it goes before any page.
@dramatiq.actor(queue_name="documents", priority=0, **RETRY_OPTIONS)
@_fails_document_when_out_of_retries(Attempt.Stage.START)
def start_document(document_id: str) -> bool:
    numbers = pipeline.start_document(document_id)
    dispatch.send_next_pages(document_id, settings.EXORA_DOCUMENT_WINDOW)
    return bool(numbers)


# Once every page is read: the passes over the whole document, then it is completed. On the
# documents queue, so that a finishing document does not wait behind other documents' pages.
@dramatiq.actor(queue_name="documents", priority=0, **RETRY_OPTIONS)
@_fails_document_when_out_of_retries(Attempt.Stage.EXTRACT)
def extract_document(document_id: str) -> bool:
    return pipeline.extract_document(document_id)


def _read_page(document_id: str, number: int, count: int = 1) -> bool | None:
    did_read = pipeline.read_document_pages(document_id, number, count)
    if did_read:
        dispatch.send_next_pages(document_id, 1)  # keep the document's window full
    return did_read


def _page_actor(actor_name: str, queue_name: str, priority: int) -> dramatiq.Actor:
    """One actor per lane, all reading a page (or a run of text-layer pages). Each lane is its
    own queue; a worker holding a message of several lanes runs the one of the lowest priority
    number first."""
    stage = _fails_document_when_out_of_retries(Attempt.Stage.PAGE)(_read_page)
    return dramatiq.actor(stage, actor_name=actor_name, queue_name=queue_name, priority=priority, **RETRY_OPTIONS)


read_priority_page = _page_actor("read_priority_page", "pages-priority", priority=5)
read_document_page = _page_actor("read_document_page", "pages", priority=10)
read_bulk_page = _page_actor("read_bulk_page", "pages-bulk", priority=20)

PAGE_ACTORS = {"priority": read_priority_page, "standard": read_document_page, "bulk": read_bulk_page}
PAGE_QUEUES = tuple(actor.queue_name for actor in PAGE_ACTORS.values())
