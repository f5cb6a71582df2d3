"""The Dramatiq actors: one per step of the pipeline (pipeline.py), named and queued as the
lanes table says (lanes.py). Each runs its step under the contract of steps.py."""

import dramatiq

from processing import lanes
from processing.pipeline import ExtractRecords, ReadPages, StartDocument
from processing.steps import RETRY_OPTIONS, run_step


@dramatiq.actor(
    actor_name=lanes.START_ACTOR, queue_name=lanes.DOCUMENTS_QUEUE, priority=lanes.DOCUMENTS_PRIORITY, **RETRY_OPTIONS
)
def start_document(document_id: str) -> None:
    run_step(StartDocument(document_id))


# On the documents queue, so that a finishing document does not wait behind other documents' pages.
@dramatiq.actor(
    actor_name=lanes.EXTRACT_ACTOR, queue_name=lanes.DOCUMENTS_QUEUE, priority=lanes.DOCUMENTS_PRIORITY, **RETRY_OPTIONS
)
def extract_document(document_id: str) -> None:
    run_step(ExtractRecords(document_id))


def read_pages(document_id: str, number: int, count: int = 1) -> None:
    """A page, or a run of `count` text-layer pages from `number`."""
    run_step(ReadPages(document_id, number, count))


# One actor per lane, each reading its own queue.
PAGE_ACTORS = {
    lane.name: dramatiq.actor(
        read_pages, actor_name=lane.actor, queue_name=lane.queue, priority=lane.priority, **RETRY_OPTIONS
    )
    for lane in lanes.LANES
}
