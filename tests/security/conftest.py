"""What the security tests share: a person's completed document with its page image."""

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.utils import timezone

from documents.models import Document
from processing.models import Page

NAME = "hiv-test-result-jane-doe.pdf"
TEXT = "HIV antibody test: reactive"


@pytest.fixture
def document(user) -> Document:
    """A completed one-page document of alice's, with its image stored."""
    document = Document.objects.create(
        owner=user, original_name=NAME, file="documents/x/original.pdf", size_bytes=1, sha256="0" * 64,
        mime_type="application/pdf", status=Document.Status.COMPLETED, page_count=1, pages_done=1,
        finished_at=timezone.now(),
    )  # fmt: skip
    image = default_storage.save(f"documents/{document.id}/pages/00001-aaaa.jpg", ContentFile(b"\xff\xd8jpeg"))
    Page.objects.create(document=document, number=1, status=Page.Status.DONE, text=TEXT, image=image)
    return document
