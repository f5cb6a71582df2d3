"""Writing and reading the record of reads (access.models.DocumentRead).

`record()` is called by every door that shows a document's content, before the content is
sent: a read that cannot be recorded fails like any other database error, rather than going
unrecorded.
"""

import csv
import io
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol
from uuid import UUID

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser, User
from django.core.cache import cache
from django.db.models import QuerySet
from django.utils import timezone

from access.models import DocumentRead

Door = DocumentRead.Door
# A door that is polled (the operators' dashboard, a socket, the API's document detail) records
# each document it shows once per window.
REPEAT_WINDOW_SECONDS = 300


class ReadDocument(Protocol):
    """What a record needs of a document: documents.models.Document has both."""

    @property
    def pk(self) -> Any: ...

    @property
    def owner_id(self) -> int: ...


@dataclass(frozen=True)
class DocumentRef:
    """A document known by its id and owner only (a socket's snapshot, a dashboard's rows)."""

    pk: Any
    owner_id: int


def address_of(meta_or_scope: dict[str, Any]) -> str | None:
    """The client's address: a request's META (REMOTE_ADDR, set by the server, or by a trusted
    proxy's header where the server is told to take it) or an ASGI scope's client."""
    if "REMOTE_ADDR" in meta_or_scope:
        return str(meta_or_scope["REMOTE_ADDR"]) or None
    client = meta_or_scope.get("client")
    return str(client[0]) if client else None


def request_address(request: Any) -> str | None:
    """The address of a request's client (django-axes asks this, so lockouts and the record of
    reads agree on who is where)."""
    return address_of(request.META)


def record(
    reader: AbstractBaseUser | AnonymousUser,
    door: str,
    documents: Iterable[ReadDocument],
    address: str | None,
    *,
    once_per_window: bool = False,
) -> int:
    """Note that `reader` read these documents through `door`; returns how many rows were written.
    With `once_per_window`, a document this reader read through this door in the last few
    minutes is not noted again (a polling page)."""
    rows = []
    for document in documents:
        if once_per_window and not cache.add(
            f"access:{reader.pk}:{door}:{document.pk}", 1, timeout=REPEAT_WINDOW_SECONDS
        ):
            continue
        rows.append(
            DocumentRead(
                reader=reader if isinstance(reader, User) and reader.pk else None,
                reader_name=reader.get_username() or "(anonymous)",
                address=address,
                door=door,
                document_id=document.pk,
                owner_id=document.owner_id,
            )
        )
    DocumentRead.objects.bulk_create(rows)
    return len(rows)


def reads_of_documents_owned_by(owner_id: int) -> QuerySet[DocumentRead]:
    return DocumentRead.objects.filter(owner_id=owner_id)


def reads_between(since: datetime, until: datetime) -> QuerySet[DocumentRead]:
    return DocumentRead.objects.filter(at__gte=since, at__lt=until).order_by("at", "id")


CSV_COLUMNS = ("at", "reader", "reader_id", "address", "door", "document_id", "owner_id")


def as_csv(reads: QuerySet[DocumentRead]) -> Iterator[str]:
    """The rows as CSV lines, header first, streamed a thousand rows at a time."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)

    def flushed() -> str:
        text = buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
        return text

    writer.writerow(CSV_COLUMNS)
    yield flushed()
    for read in reads.iterator(chunk_size=1000):
        writer.writerow(
            (read.at.isoformat(), read.reader_name, read.reader_id or "", read.address or "",
             read.door, read.document_id, read.owner_id)
        )  # fmt: skip
        yield flushed()


def purge_older_than(days: int, now: datetime | None = None) -> int:
    """Delete the records older than `days` days (the only deletion there is); how many."""
    cutoff = (now or timezone.now()) - timedelta(days=days)
    deleted, _ = DocumentRead.objects.filter(at__lt=cutoff).delete()
    return deleted


def document_ids(reads: Iterable[DocumentRead]) -> set[UUID]:
    return {read.document_id for read in reads}
