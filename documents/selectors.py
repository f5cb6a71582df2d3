"""Reads for documents. Every read is scoped to its owner: other people's documents do not exist."""

from django.db.models import QuerySet
from django.shortcuts import get_object_or_404

from documents.models import Document, Page
from processing.results import document_json, extraction_json, page_json


def documents_of(user) -> QuerySet[Document]:
    return Document.objects.filter(owner=user)


def document_of(user, document_id) -> Document:
    """The user's document, or 404 whether it belongs to someone else or does not exist."""
    return get_object_or_404(documents_of(user), id=document_id)


def pages_of(document: Document) -> QuerySet[Page]:
    return document.pages.order_by("number")


def page_of(user, document_id, number: int) -> Page:
    return get_object_or_404(Page, document__owner=user, document_id=document_id, number=number)


def document_result(document: Document) -> dict:
    """The document as `manage.py process --json` prints it: status, pages, words, timings,
    and the encounters and records the extraction found (empty until it ran)."""
    pages = [
        page_json(p.number, p.source, p.text, p.mean_confidence, p.words)
        for p in pages_of(document).filter(status=Page.Status.DONE)
    ]
    result = document_json(
        file=document.original_name,
        status=document.status,
        error=document.error,
        pages=pages,
        timings=document.timings,
    )
    result.update(extraction_json(document.extraction))
    return result


def document_text(document: Document) -> str:
    parts = [f"--- page {p.number} ---\n{p.text}" for p in pages_of(document).filter(status=Page.Status.DONE)]
    return "\n\n".join(parts) + "\n"
