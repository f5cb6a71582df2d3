"""Writes for documents that are not a change of status: taking an upload in.

The changes of status (create, cancel, retry, a lane) are documents.lifecycle's.
"""

import hashlib
import shutil
import tempfile
from datetime import timedelta
from pathlib import Path

import magic
from django.conf import settings
from django.contrib.auth.models import User
from django.core.files import File
from django.core.files.uploadedfile import TemporaryUploadedFile, UploadedFile
from django.db.models import Sum
from django.utils import timezone

from documents import lifecycle
from documents.models import Document
from documents.uploads import too_large_message
from processing import api as processing


class UploadRejected(Exception):
    """An upload we will not process, with a message for the person who sent it."""

    def __init__(self, message: str, *, http_status: int = 400, existing: Document | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.http_status = http_status
        self.existing = existing


def document_upload(owner: User, upload: UploadedFile[bytes], ocr_mode: str | None = None) -> Document:
    """Check an upload, store it, and create its document (queued once the transaction commits).

    The bytes are typed and hashed, then checked from a local file, so that a bad file is
    refused here with a clear message and never reaches the storage or a worker.
    """
    _refuse_empty_or_oversized(upload.size)
    head = upload.read(8192)
    mime_type = magic.from_buffer(head, mime=True)
    if mime_type not in processing.SUPPORTED_TYPES:
        raise UploadRejected(
            f"This file type ({mime_type}) is not supported. Upload a PDF, TIFF, PNG or JPEG.", http_status=415
        )
    _refuse_over_quota(owner, upload.size or 0)
    sha256 = _sha256(upload)
    existing = (
        Document.objects.filter(owner=owner, sha256=sha256)
        .exclude(status__in=(Document.Status.FAILED, Document.Status.CANCELLED))
        .first()
    )
    if existing is not None:
        raise UploadRejected(
            f"You already uploaded this file as “{existing.original_name}”.", http_status=409, existing=existing
        )

    document = Document(
        owner=owner,
        original_name=(upload.name or "upload")[:255],
        size_bytes=upload.size or 0,
        sha256=sha256,
        mime_type=mime_type,
        ocr_mode=ocr_mode or settings.EXORA_OCR_MODE,
    )
    with tempfile.TemporaryDirectory(prefix="exora-upload-") as scratch:
        local = _local_file(upload, Path(scratch))
        try:
            checked = processing.check_upload(local, mime_type, Path(scratch) / f"readable{document.extension}")
        except processing.PermanentError as error:
            raise UploadRejected(error.user_message, http_status=422) from error
        document.page_count = checked.page_count
        _refuse_over_pages_per_day(owner, checked.page_count)
        upload.seek(0)
        document.file.save(document.original_name, upload, save=False)
        if checked.path != local:  # repaired or decrypted: the workers read the copy
            with checked.path.open("rb") as copy:
                document.readable_sha256 = _sha256(File(copy))
                document.readable_file.save(checked.path.name, File(copy), save=False)
    return lifecycle.document_create(document)


def _local_file(upload: UploadedFile[bytes], scratch: Path) -> Path:
    """The upload as a file on this host's disk: Django's own temporary file for a large one,
    a copy in `scratch` for one held in memory."""
    if isinstance(upload, TemporaryUploadedFile):
        return Path(upload.temporary_file_path())
    local = scratch / "upload"
    upload.seek(0)
    with local.open("wb") as copy:
        shutil.copyfileobj(upload, copy)
    return local


def _refuse_empty_or_oversized(size: int | None) -> None:
    if not size:
        raise UploadRejected("The file is empty.")
    if size > settings.EXORA_MAX_UPLOAD_BYTES:
        raise UploadRejected(too_large_message(), http_status=413)


def _refuse_over_quota(owner: User, size: int) -> None:
    """What a person's documents may take in the storage (EXORA_USER_QUOTA_MB): delete some to
    upload more."""
    quota = settings.EXORA_USER_QUOTA_MB * 1024 * 1024
    used = Document.objects.filter(owner=owner).aggregate(used=Sum("size_bytes"))["used"] or 0
    if used + size > quota:
        raise UploadRejected(
            f"Your documents take {used / 2**20:.0f} MB of your {settings.EXORA_USER_QUOTA_MB} MB: "
            "delete some to upload this one.",
            http_status=403,
        )


def _refuse_over_pages_per_day(owner: User, pages: int | None) -> None:
    since = timezone.now() - timedelta(days=1)
    recent = Document.objects.filter(owner=owner, created_at__gte=since).aggregate(pages=Sum("page_count"))
    taken = recent["pages"] or 0
    if taken + (pages or 0) > settings.EXORA_USER_PAGES_PER_DAY:
        raise UploadRejected(
            f"You uploaded {taken} pages in the last 24 hours, and this file has {pages}: the limit is "
            f"{settings.EXORA_USER_PAGES_PER_DAY} pages a day. Try again later.",
            http_status=429,
        )


def _sha256(upload: File[bytes]) -> str:
    digest = hashlib.sha256()
    upload.seek(0)
    for chunk in upload.chunks():
        digest.update(chunk)
    return digest.hexdigest()
