"""Writes for documents: storing an upload and creating its document and job."""

import hashlib
from dataclasses import dataclass

import magic
from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction

from documents.models import Document
from processing import services as processing_services
from processing.rendering import SUPPORTED_TYPES


class UploadRejected(Exception):
    """An upload we will not process, with a message for the person who sent it."""

    def __init__(self, message: str, *, http_status: int = 400, existing: Document | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.http_status = http_status
        self.existing = existing


@dataclass(frozen=True)
class _Fingerprint:
    size: int
    sha256: str
    mime_type: str


def create_document(owner, upload: UploadedFile, ocr_mode: str | None = None) -> Document:
    """Store an upload, create its document and job, and queue it once the transaction commits."""
    fingerprint = _fingerprint(upload)
    document = Document(
        owner=owner,
        original_name=(upload.name or "upload")[:255],
        size_bytes=fingerprint.size,
        sha256=fingerprint.sha256,
        mime_type=fingerprint.mime_type,
        ocr_mode=ocr_mode or settings.EXORA_OCR_MODE,
    )
    upload.seek(0)
    with transaction.atomic():
        document.file.save(document.original_name, upload, save=False)
        document.save()
        processing_services.create_job(document)
    return document


def _fingerprint(upload: UploadedFile) -> _Fingerprint:
    """Size, sha256 and type from the bytes (never the name), reading chunk by chunk."""
    digest = hashlib.sha256()
    size = 0
    head = b""
    for chunk in upload.chunks():
        if len(head) < 8192:
            head += chunk[: 8192 - len(head)]
        digest.update(chunk)
        size += len(chunk)
    if size == 0:
        raise UploadRejected("The file is empty.")
    if size > settings.EXORA_MAX_UPLOAD_BYTES:
        limit_mb = settings.EXORA_MAX_UPLOAD_BYTES // (1024 * 1024)
        raise UploadRejected(f"The file is larger than the {limit_mb} MB limit.", http_status=413)
    mime_type = magic.from_buffer(head, mime=True)
    if mime_type not in SUPPORTED_TYPES:
        raise UploadRejected(
            f"This file type ({mime_type}) is not supported. Upload a PDF, TIFF, PNG or JPEG.",
            http_status=415,
        )
    return _Fingerprint(size=size, sha256=digest.hexdigest(), mime_type=mime_type)
