"""The Dramatiq actors: one per step of the pipeline (pipeline.py), named and queued as the
lanes table says (lanes.py). Each runs its step under the contract of steps.py."""

import dramatiq
from dramatiq.actor import ActorDecorator

from processing import lanes
from processing.pipeline import ExtractRecords, ReadPages, StartDocument
from processing.steps import MAX_BACKOFF_MS, MAX_RETRIES, MIN_BACKOFF_MS, run_step


def _retried(actor_name: str, queue_name: str, priority: int) -> ActorDecorator:
    """An actor whose failed runs the broker tries again (steps.run_step says when not)."""
    return dramatiq.actor(
        actor_name=actor_name,
        queue_name=queue_name,
        priority=priority,
        max_retries=MAX_RETRIES,
        min_backoff=MIN_BACKOFF_MS,
        max_backoff=MAX_BACKOFF_MS,
    )


@_retried(lanes.START_ACTOR, lanes.DOCUMENTS_QUEUE, lanes.DOCUMENTS_PRIORITY)
def start_document(document_id: str) -> None:
    run_step(StartDocument(document_id))


# On the documents queue, so that a finishing document does not wait behind other documents' pages.
@_retried(lanes.EXTRACT_ACTOR, lanes.DOCUMENTS_QUEUE, lanes.DOCUMENTS_PRIORITY)
def extract_document(document_id: str) -> None:
    run_step(ExtractRecords(document_id))


def read_pages(document_id: str, number: int, count: int = 1) -> None:
    """A page, or a run of `count` text-layer pages from `number`."""
    run_step(ReadPages(document_id, number, count))


# One actor per lane, each reading its own queue.
PAGE_ACTORS = {lane.name: _retried(lane.actor, lane.queue, lane.priority)(read_pages) for lane in lanes.LANES}
