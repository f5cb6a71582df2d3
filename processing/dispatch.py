"""Sending work to the broker. Which message carries each page is recorded as it is enqueued
(`WorkerSupervision.after_enqueue`), retries included, so recovery can tell a page whose
message waits in Redis from one whose message was lost."""

# Marks a page taken for sending until the broker's own message id replaces it.
SENDING = "sending"


def send_page(document_id: str, number: int, lane: str = "standard", count: int = 1) -> None:
    """Queue page `number` (and the `count - 1` after it) in a lane: "priority", "standard"
    or "bulk"."""
    from processing.actors import PAGE_ACTORS

    PAGE_ACTORS[lane].send(document_id, number, count)


def pages_of(message_args: tuple | list) -> tuple[str, range]:
    """The document and page numbers a page message reads."""
    document_id, number, *rest = message_args
    return document_id, range(number, number + (rest[0] if rest else 1))


def send_start(document_id: str) -> None:
    from processing.actors import start_document

    start_document.send(document_id)


def send_extract(document_id: str) -> None:
    """Queue the extraction passes over a document whose pages are all read."""
    from processing.actors import extract_document

    extract_document.send(document_id)


def send_next_pages(document_id: str, count: int) -> int:
    """Send up to `count` messages for the document's pages not sent yet, in order, in the
    job's lane: a page to a message, or a run of text-layer pages to one. Returns how many.

    Pages are marked before they are sent, by a conditional update, so two workers topping up
    the same document at once never send the same pages twice.
    """
    from django.conf import settings

    from documents.models import Page
    from processing.models import Job

    lane = Job.objects.filter(document_id=document_id).values_list("lane", flat=True).first() or "standard"
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
