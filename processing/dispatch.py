"""Sending work to the broker. Which message carries each page is recorded as it is enqueued
(`WorkerSupervision.after_enqueue`), retries included, so recovery can tell a page whose
message waits in Redis from one whose message was lost."""

# Marks a page taken for sending until the broker's own message id replaces it.
SENDING = "sending"


def send_page(document_id: str, number: int, lane: str = "standard") -> None:
    """Queue page `number` in a lane: "priority", "standard" or "bulk"."""
    from processing.actors import PAGE_ACTORS

    PAGE_ACTORS[lane].send(document_id, number)


def send_start(document_id: str) -> None:
    from processing.actors import start_document

    start_document.send(document_id)


def send_extract(document_id: str) -> None:
    """Queue the extraction passes over a document whose pages are all read."""
    from processing.actors import extract_document

    extract_document.send(document_id)


def send_next_pages(document_id: str, count: int) -> int:
    """Send up to `count` pages of the document not sent yet, in order, in the job's lane.

    Each page is marked before it is sent, by a conditional update, so two workers topping up
    the same document at once never send the same page twice.
    """
    from documents.models import Page
    from processing.models import Job

    lane = Job.objects.filter(document_id=document_id).values_list("lane", flat=True).first() or "standard"
    sent = 0
    while sent < count:
        unsent = Page.objects.filter(document_id=document_id, status=Page.Status.PENDING, message_id="")
        number = unsent.order_by("number").values_list("number", flat=True).first()
        if number is None:
            break
        if unsent.filter(number=number).update(message_id=SENDING):
            send_page(document_id, number, lane)
            sent += 1
    return sent
