"""Writes that move a document through processing. Each is safe to run twice."""

from pathlib import Path

from django.core.files import File
from django.core.files.storage import default_storage
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from documents.models import Document, Page
from processing.models import Job
from processing.results import PageResult


def create_job(document: Document) -> Job:
    """Create the document's job and queue its first stage once the transaction commits."""
    from processing.actors import start_document

    job = Job.objects.create(document=document, enqueued_at=timezone.now())
    transaction.on_commit(lambda: start_document.send(str(document.id)))
    return job


def begin(document_id: str) -> Document | None:
    """Mark a document as converting; None when it is finished or gone (nothing to do)."""
    now = timezone.now()
    with transaction.atomic():
        document = Document.objects.select_for_update().filter(id=document_id).first()
        if document is None or document.is_finished:
            return None
        if document.status == Document.Status.QUEUED:
            document.status = Document.Status.CONVERTING
            document.started_at = now
            document.save(update_fields=["status", "started_at"])
            Job.objects.filter(document=document).update(started_at=now, attempts=F("attempts") + 1)
    return document


def plan_pages(document: Document, page_count: int) -> list[int]:
    """Create a row per page; return the numbers of the pages still to read."""
    Page.objects.bulk_create(
        (Page(document=document, number=n) for n in range(1, page_count + 1)),
        ignore_conflicts=True,
        batch_size=500,
    )
    Document.objects.filter(id=document.id, status=Document.Status.CONVERTING).update(
        status=Document.Status.READING, page_count=page_count
    )
    return list(
        Page.objects.filter(document=document).exclude(status=Page.Status.DONE).values_list("number", flat=True)
    )


def store_page(document_id: str, result: PageResult, display_image: Path) -> bool:
    """Store a page that was read, once; complete the document when it was the last one.

    Returns True when this call completed the document. The page count lives in the
    database, so two deliveries of the same page, even at once, count it once.
    """
    image_name = f"documents/{document_id}/pages/{result.number:05d}.jpg"
    if default_storage.exists(image_name):
        default_storage.delete(image_name)
    with display_image.open("rb") as handle:
        image_name = default_storage.save(image_name, File(handle))

    now = timezone.now()
    with transaction.atomic():
        stored = (
            Page.objects.filter(document_id=document_id, number=result.number)
            .exclude(status=Page.Status.DONE)
            .update(
                status=Page.Status.DONE,
                source=result.source,
                text=result.text,
                words=[w.__dict__ for w in result.words],
                mean_confidence=result.mean_confidence,
                width=result.width,
                height=result.height,
                image=image_name,
                timings=result.timings,
                done_at=now,
            )
        )
        if not stored:
            return False
        Document.objects.filter(id=document_id).update(pages_done=F("pages_done") + 1)
        completed = (
            Document.objects.filter(id=document_id, pages_done=F("page_count"))
            .exclude(status__in=Document.FINISHED)
            .update(status=Document.Status.COMPLETED, finished_at=now)
        )
        if completed:
            _finish_job(document_id, now)
    return bool(completed)


def fail(document_id: str, message: str) -> bool:
    """Fail an unfinished document with a reason its owner can read; False if already finished."""
    now = timezone.now()
    with transaction.atomic():
        failed = (
            Document.objects.filter(id=document_id)
            .exclude(status__in=Document.FINISHED)
            .update(status=Document.Status.FAILED, error=message, finished_at=now)
        )
        if failed:
            Job.objects.filter(document_id=document_id).update(last_error=message)
            _finish_job(document_id, now)
    return bool(failed)


def _finish_job(document_id: str, now) -> None:
    Job.objects.filter(document_id=document_id).update(finished_at=now)
    document = Document.objects.get(id=document_id)
    page_timings = Page.objects.filter(document_id=document_id).values_list("timings", flat=True)
    document.timings = summarise_timings(document, list(page_timings))
    document.save(update_fields=["timings"])


def summarise_timings(document: Document, page_timings: list[dict]) -> dict[str, float]:
    """Per-stage seconds for the whole document: waiting, converting, OCR and in all."""

    def total(stage: str) -> float:
        return round(sum(t.get(stage, 0.0) for t in page_timings), 3)

    summary = {"conversion": total("render"), "text_layer": total("text_layer"), "ocr": total("ocr")}
    if document.started_at:
        summary["wait"] = round((document.started_at - document.created_at).total_seconds(), 3)
    if document.finished_at:
        summary["total"] = round((document.finished_at - document.created_at).total_seconds(), 3)
    return summary
