"""Writes of pages: planning a document's pages, and storing pages once they are read.

Each page is stored once, however many times its message is delivered: the row is updated only
while it is not done, and only the image the stored row names is kept.
"""

import uuid
from datetime import datetime
from pathlib import Path

from django.core.files import File
from django.core.files.storage import default_storage
from django.utils import timezone

from processing.engine.results import PageResult
from processing.models import Page


def pages_plan(document_id: str, page_count: int, text_pages: set[int]) -> list[int]:
    """Create a row per page, noting those read from their text layer; return the numbers of
    the pages still to read (a retried document keeps the pages it read before)."""
    Page.objects.bulk_create(
        (Page(document_id=document_id, number=n, reads_text_layer=n in text_pages) for n in range(1, page_count + 1)),
        ignore_conflicts=True,
        batch_size=500,
    )
    # Pages are sent a window at a time from here on (dispatch.send_next_pages): any earlier
    # sending, before a retry or a repeated start, no longer counts.
    Page.objects.filter(document_id=document_id, status=Page.Status.PENDING).update(message_id="")
    return list(
        Page.objects.filter(document_id=document_id).exclude(status=Page.Status.DONE).values_list("number", flat=True)
    )


def stage_images(document_id: str, read: list[tuple[PageResult, Path]]) -> list[str]:
    """Write each display image to the storage under a name of its own, before the transaction
    that records it: a row never names an image that is not there. `pages_store` keeps the ones
    whose page it stored; `unstage` deletes the rest."""
    return [_stage_image(document_id, result.number, display) for result, display in read]


def _stage_image(document_id: str, number: int, display_image: Path) -> str:
    name = f"documents/{document_id}/pages/{number:05d}-{uuid.uuid4().hex[:12]}.jpg"
    with display_image.open("rb") as image:
        return default_storage.save(name, File(image))


def unstage(staged: list[str]) -> None:
    """Delete the staged images no row names: the losing copy of a page read twice, or the
    images of a run whose storing failed."""
    for name in staged:
        default_storage.delete(name)


def pages_store(document_id: str, results: list[PageResult], staged: list[str]) -> list[str]:
    """Store the pages not stored yet, each with its image; returns the images now in use (the
    rest are `unstage`d by the caller). Run it in the transaction that locked the document
    (documents.lifecycle)."""
    now = timezone.now()
    return [
        image_name
        for result, image_name in zip(results, staged, strict=True)
        if _store_page_row(document_id, result, image_name, now)
    ]


def _store_page_row(document_id: str, result: PageResult, image_name: str, now: datetime) -> bool:
    return bool(
        Page.objects.filter(document_id=document_id, number=result.number)
        .exclude(status=Page.Status.DONE)
        .update(
            status=Page.Status.DONE,
            source=result.source,
            text=result.text,
            words=[vars(word) for word in result.words],  # asdict would deep-copy every box: 2 ms a page
            mean_confidence=result.mean_confidence,
            width=result.width,
            height=result.height,
            image=image_name,
            timings=result.timings,
            done_at=now,
        )
    )
