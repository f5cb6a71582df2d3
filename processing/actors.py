"""Dramatiq actors: thin wrappers that run a pipeline stage and decide what a failure means.

A permanent error fails the document at once; anything else is retried with backoff
(about 2 s, 4 s, 8 s) and fails the document, with a reason, when the retries run out.
"""

import functools
import logging
from collections.abc import Callable

import dramatiq
from dramatiq.middleware import CurrentMessage

from processing import pipeline, services
from processing.errors import PermanentError, ProcessingError

logger = logging.getLogger(__name__)

MAX_RETRIES = 3
RETRY_OPTIONS = {"max_retries": MAX_RETRIES, "min_backoff": 2_000, "max_backoff": 8_000}


def _fails_document_when_out_of_retries(stage: Callable[..., None]) -> Callable[..., None]:
    @functools.wraps(stage)
    def run(document_id: str, *args: object) -> None:
        try:
            stage(document_id, *args)
        except PermanentError as exc:
            services.fail(document_id, exc.user_message)
        except Exception as exc:
            message = CurrentMessage.get_current_message()
            retries = message.options.get("retries", 0) if message else MAX_RETRIES
            if retries < MAX_RETRIES:
                logger.warning("retrying %s for %s after: %s", stage.__name__, document_id, exc)
                raise
            reason = exc.user_message if isinstance(exc, ProcessingError) else "An internal error stopped processing."
            logger.exception("giving up on %s for %s", stage.__name__, document_id)
            services.fail(document_id, f"{reason} We tried {MAX_RETRIES + 1} times.")

    return run


@dramatiq.actor(queue_name="documents", **RETRY_OPTIONS)
@_fails_document_when_out_of_retries
def start_document(document_id: str) -> None:
    for number in pipeline.start_document(document_id):
        read_document_page.send(document_id, number)


@dramatiq.actor(queue_name="pages", **RETRY_OPTIONS)
@_fails_document_when_out_of_retries
def read_document_page(document_id: str, number: int) -> None:
    pipeline.read_document_page(document_id, number)
