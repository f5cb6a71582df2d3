"""Sending work to the broker, by the names in the lanes table (processing.lanes): nothing here
imports the actors, so every module may send work without depending on the workers' code.

Which message carries each page is recorded as it is enqueued (`supervision.PageMessageIds`),
retries included, so recovery can tell a page whose message waits in the broker from one
whose message was lost.
"""

from collections.abc import Sequence

import dramatiq
from django.conf import settings

from processing import lanes
from processing.models import Job, Page

# Marks a page taken for sending until the broker's own message id replaces it.
SENDING = "sending"


def _send(queue_name: str, actor_name: str, *args: object) -> None:
    broker = dramatiq.get_broker()
    # A process that only sends (the web server) has no actors to declare the queues for it.
    broker.declare_queue(queue_name)
    message: dramatiq.Message[object] = dramatiq.Message(
        queue_name=queue_name, actor_name=actor_name, args=args, kwargs={}, options={}
    )
    broker.enqueue(message)


def send_start(document_id: str) -> None:
    _send(lanes.DOCUMENTS_QUEUE, lanes.START_ACTOR, document_id)


def send_extract(document_id: str) -> None:
    """Queue the extraction passes over a document whose pages are all read."""
    _send(lanes.DOCUMENTS_QUEUE, lanes.EXTRACT_ACTOR, document_id)


def send_page(document_id: str, number: int, lane: str = lanes.DEFAULT.name, count: int = 1) -> None:
    """Queue page `number` (and the `count - 1` after it) in a lane."""
    target = lanes.BY_NAME[lane]
    _send(target.queue, target.actor, document_id, number, count)


def message_pages(message_args: Sequence[object]) -> tuple[str, range]:
    """The document and the page numbers a page message reads."""
    document_id, number, *rest = message_args
    assert isinstance(number, int)
    count = rest[0] if rest and isinstance(rest[0], int) else 1
    return str(document_id), range(number, number + count)


def send_next_pages(document_id: str, count: int) -> int:
    """Send up to `count` messages for the document's pages not sent yet, in order, in the
    job's lane: a page to a message, or a run of text-layer pages to one. Returns how many.

    Pages are marked before they are sent, by a conditional update, so two workers topping up
    the same document at once never send the same pages twice.
    """
    lane = Job.objects.filter(document_id=document_id).values_list("lane", flat=True).first() or lanes.DEFAULT.name
    sent = 0
    while sent < count:
        unsent = Page.objects.filter(document_id=document_id, status=Page.Status.PENDING, message_id="")
        first = unsent.order_by("number").values_list("number", "reads_text_layer").first()
        if first is None:
            break
        number, text_layer = first
        run = [number]
        if text_layer:
            following = unsent.filter(
                number__range=(number, number + settings.EXORA_TEXT_BATCH_PAGES - 1), reads_text_layer=True
            )
            run = _consecutive(sorted(following.values_list("number", flat=True)))
        if unsent.filter(number__in=run).update(message_id=SENDING):
            send_page(document_id, number, lane, count=len(run))
            sent += 1
    return sent


def _consecutive(numbers: list[int]) -> list[int]:
    """The leading run of consecutive numbers: [3, 4, 5, 8] -> [3, 4, 5]."""
    run = numbers[:1]
    for number in numbers[1:]:
        if number != run[-1] + 1:
            break
        run.append(number)
    return run
