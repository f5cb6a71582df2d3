"""Deleting a document's files, whichever way its row goes: its owner (page or API), the admin,
its owner's account being deleted, retention (documents.retention). Every one of those deletes
the row; the row's deletion, once committed, deletes the files (a `post_delete` receiver, so a
cascade or a queryset's delete is covered as well as `document_delete`).

The files are everything under the document's folder in the storage (`documents/<id>/`: the
original, its repaired copy, the page images), listed through the storage API so that a bucket
is emptied as a disk is, and this host's cached copy of its content when no other document has
the same. What a worker writes after the deletion (a page it was reading) is left to the orphan
sweep.
"""

import logging
from typing import Any

from django.core.files.storage import default_storage
from django.db import transaction
from django.db.models import Q
from django.db.models.signals import post_delete
from django.dispatch import receiver

from documents.models import Document
from processing import api as processing

logger = logging.getLogger(__name__)


def document_folder(document_id: object) -> str:
    return f"documents/{document_id}"


def stored_files_under(folder: str) -> list[str]:
    """Every file's name under `folder` in the storage, at any depth."""
    try:
        folders, files = default_storage.listdir(folder)
    except FileNotFoundError:
        return []
    names = [f"{folder}/{name}" for name in files]
    for sub in folders:
        names += stored_files_under(f"{folder}/{sub}")
    return names


def delete_stored_folder(folder: str) -> int:
    """Delete every file under `folder`, then the folders themselves where the storage has
    folders (a disk); returns how many files went."""
    names = stored_files_under(folder)
    for name in names:
        default_storage.delete(name)
    _delete_empty_folders(folder)
    return len(names)


def _delete_empty_folders(folder: str) -> None:
    try:
        folders, files = default_storage.listdir(folder)
    except FileNotFoundError:
        return
    for sub in folders:
        _delete_empty_folders(f"{folder}/{sub}")
    if not files and default_storage.exists(folder):
        default_storage.delete(folder)  # a disk's empty folder; a bucket has none to delete


def delete_files_of(document_id: str, sha256s: set[str]) -> None:
    """The files of a deleted document: its folder in the storage, and the cached copies of
    contents no other document has."""
    removed = delete_stored_folder(document_folder(document_id))
    for sha256 in sha256s - {""}:
        if not content_is_kept(sha256):
            processing.forget_cached(sha256)
    logger.info("document %s deleted with %d stored file(s)", document_id, removed)


def content_is_kept(sha256: str) -> bool:
    """Whether a document still has this content, as its upload or its repaired copy."""
    return Document.objects.filter(Q(sha256=sha256) | Q(readable_sha256=sha256)).exists()


@receiver(post_delete, sender=Document)
def _files_go_with_the_row(sender: type[Document], instance: Document, **kwargs: Any) -> None:
    document_id, sha256s = str(instance.id), {instance.sha256, instance.readable_sha256}
    # After commit: a deletion rolled back keeps its files.
    transaction.on_commit(lambda: delete_files_of(document_id, sha256s))
