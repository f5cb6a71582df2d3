"""Writes for documents that are not a change of status: taking an upload in.

The changes of status (create, cancel, retry, a lane) are documents.lifecycle's.
"""

import hashlib
from dataclasses import dataclass
from datetime import timedelta
from typing import BinaryIO, cast

import magic
from django.conf import settings
from django.contrib.auth.models import User
from django.core.files.uploadedfile import UploadedFile
from django.db import connection
from django.db.models import Q
from django.utils import timezone

from documents import lifecycle
from documents.models import Document
from documents.uploads import too_large_message
from processing import api as processing

# When to try again after a refusal that time cures: the documents waiting are read in minutes,
# the day's pages free up over the hours.
WAITING_RETRY_AFTER_SECONDS = 60
PAGES_PER_DAY_RETRY_AFTER_SECONDS = 3600
# A file whose document failed or was cancelled may be sent again; any other is refused (409).
SENT_AGAIN = (Document.Status.FAILED.value, Document.Status.CANCELLED.value)


class UploadRejected(Exception):
    """An upload we will not process, with a message for the person who sent it."""

    def __init__(
        self,
        message: str,
        *,
        http_status: int = 400,
        existing: Document | None = None,
        retry_after: int | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.http_status = http_status
        self.existing = existing
        self.retry_after = retry_after  # seconds, for a refusal that time cures (429)


def document_upload(owner: User, upload: UploadedFile[bytes], ocr_mode: str | None = None) -> Document:
    """Check an upload, store it, and create its document (queued once the transaction commits).

    The quick checks (size, type, password, page count) run here, on the uploaded bytes, so that a
    bad file is refused at once with a clear message and never reaches the storage; every
    page's size and any repair wait for the worker's first step, whose errors reach the owner
    the same way. The pooled database connection goes back while the file is being stored.
    """
    _refuse_empty_or_oversized(upload.size)
    head = upload.read(8192)
    mime_type = magic.from_buffer(head, mime=True)
    if mime_type not in processing.SUPPORTED_TYPES:
        raise UploadRejected(
            f"This file type ({mime_type}) is not supported. Upload a PDF, TIFF, PNG or JPEG.", http_status=415
        )
    sha256 = _sha256(upload)
    try:
        upload.seek(0)
        page_count = processing.check_upload(cast(BinaryIO, upload.file), mime_type)
    except processing.PermanentError as error:
        raise UploadRejected(error.user_message, http_status=422) from error
    totals = _totals_of(owner, sha256)
    _refuse_past_the_limits_of(totals, upload.size or 0, page_count)
    if totals.same_file:
        _refuse_the_same_file_twice(owner, sha256)

    document = Document(
        owner=owner,
        original_name=(upload.name or "upload")[:255],
        size_bytes=upload.size or 0,
        sha256=sha256,
        mime_type=mime_type,
        page_count=page_count,
        ocr_mode=ocr_mode or settings.EXORA_OCR_MODE,
    )
    _release_database_connection()
    upload.seek(0)
    document.file.save(document.original_name, upload, save=False)
    return lifecycle.document_create(document, owner_waiting=totals.waiting)


def _release_database_connection() -> None:
    """Give the pooled connection back while the file goes to the storage (tens of
    milliseconds to S3): under a burst, the other requests of this process need it. The next
    query takes one again."""
    if not connection.in_atomic_block:
        connection.close()


def _refuse_empty_or_oversized(size: int | None) -> None:
    if not size:
        raise UploadRejected("The file is empty.")
    if size > settings.EXORA_MAX_UPLOAD_BYTES:
        raise UploadRejected(too_large_message(), http_status=413)


@dataclass(frozen=True)
class _OwnerTotals:
    used: int  # bytes their documents take
    waiting: int  # their documents not finished
    pages_today: int  # pages they uploaded in the last 24 hours
    same_file: int  # their documents of these bytes, not failed or cancelled


# Written in SQL rather than built by the ORM: it runs for every upload, and building the
# aggregate took the ORM 0.8 ms of CPU, eight times what sending this takes.
_TOTALS_SQL = f"""
    SELECT COALESCE(SUM(size_bytes), 0),
           COUNT(*) FILTER (WHERE finished_at IS NULL),
           COALESCE(SUM(page_count) FILTER (WHERE created_at >= %s), 0),
           COUNT(*) FILTER (WHERE sha256 = %s AND status NOT IN ({", ".join(["%s"] * len(SENT_AGAIN))}))
    FROM {Document._meta.db_table}
    WHERE owner_id = %s
"""  # noqa: S608 (our own table's name; every value is a parameter)


def _totals_of(owner: User, sha256: str) -> _OwnerTotals:
    """What the checks of an upload need to know of its owner's documents, in one query."""
    since = timezone.now() - timedelta(days=1)
    with connection.cursor() as cursor:
        cursor.execute(_TOTALS_SQL, [since, sha256, *SENT_AGAIN, owner.pk])
        used, waiting, pages_today, same_file = cursor.fetchone()
    return _OwnerTotals(used=used, waiting=waiting, pages_today=pages_today, same_file=same_file)


def _refuse_past_the_limits_of(totals: _OwnerTotals, size: int, pages: int) -> None:
    """What one person may have: the storage their documents take (EXORA_USER_QUOTA_MB: delete
    some to upload more), documents waiting at once (EXORA_USER_MAX_WAITING: the queue is
    shared, and a script that uploads thousands would hold everyone else's back) and pages
    uploaded in a day (EXORA_USER_PAGES_PER_DAY)."""
    used, waiting, taken = totals.used, totals.waiting, totals.pages_today
    if used + size > settings.EXORA_USER_QUOTA_MB * 1024 * 1024:
        raise UploadRejected(
            f"Your documents take {used / 2**20:.0f} MB of your {settings.EXORA_USER_QUOTA_MB} MB: "
            "delete some to upload this one.",
            http_status=403,
        )
    if waiting >= settings.EXORA_USER_MAX_WAITING:
        raise UploadRejected(
            f"You have {waiting} documents waiting to be read, and at most {settings.EXORA_USER_MAX_WAITING} may "
            "wait at once: upload more once some are done.",
            http_status=429,
            retry_after=WAITING_RETRY_AFTER_SECONDS,
        )
    if taken + pages > settings.EXORA_USER_PAGES_PER_DAY:
        raise UploadRejected(
            f"You uploaded {taken} pages in the last 24 hours, and this file has {pages}: the limit is "
            f"{settings.EXORA_USER_PAGES_PER_DAY} pages a day. Try again later.",
            http_status=429,
            retry_after=PAGES_PER_DAY_RETRY_AFTER_SECONDS,
        )


def _sha256(upload: UploadedFile[bytes]) -> str:
    digest = hashlib.sha256()
    upload.seek(0)
    for chunk in upload.chunks():
        digest.update(chunk)
    return digest.hexdigest()


def _same_file(sha256: str) -> Q:
    """A document of these bytes that counts (the totals' same_file counts the same)."""
    return Q(sha256=sha256) & ~Q(status__in=SENT_AGAIN)


def _refuse_the_same_file_twice(owner: User, sha256: str) -> None:
    existing = Document.objects.filter(_same_file(sha256), owner=owner).first()
    if existing is not None:
        raise UploadRejected(
            f"You already uploaded this file as “{existing.original_name}”.", http_status=409, existing=existing
        )
