"""Page leases: which worker is reading a page, and until when.

A worker claims a page before reading it and renews the lease while it works (the heartbeat
in processing/supervision.py). A lease that runs out means the worker died holding the page;
processing/recovery.py hands such pages to another worker.
"""

import contextlib
import threading
from collections.abc import Iterable, Iterator
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.db.models.expressions import CombinedExpression
from django.db.models.functions import Now

from processing.identity import worker_name
from processing.models import Page


def _lease_end() -> CombinedExpression:
    # The database's clock, not this host's (processing.identity).
    return Now() + timedelta(seconds=settings.EXORA_LEASE_SECONDS)


# The pages this process is reading now: the heartbeat renews these leases, and only these,
# so a page whose reading ended in an error the database never heard of still runs out.
_held: set[tuple[str, int]] = set()
_held_lock = threading.Lock()


@contextlib.contextmanager
def holding(document_id: str, numbers: Iterable[int]) -> Iterator[list[int]]:
    """Claim pages for as long as the block runs; yields the numbers claimed, none when every
    page is already read or another worker has it. On an error the pages are released for the
    retry, or another worker, to claim."""
    claimed = claim(document_id, numbers)
    keys = {(str(document_id), number) for number in claimed}
    with _held_lock:
        _held.update(keys)
    try:
        yield claimed
    except BaseException:
        for number in claimed:
            release(document_id, number)
        raise
    finally:
        with _held_lock:
            _held.difference_update(keys)


def claim(document_id: str, numbers: Iterable[int]) -> list[int]:
    """Take pages for this worker; returns those taken, leaving any already read or held by
    another worker."""
    with transaction.atomic():
        # Locked first, so that a worker claiming the same pages at once waits, then finds
        # them running and takes none of them.
        pending = Page.objects.select_for_update().filter(
            document_id=document_id, number__in=list(numbers), status=Page.Status.PENDING
        )
        claimed = list(pending.order_by("number").values_list("number", flat=True))
        Page.objects.filter(document_id=document_id, number__in=claimed).update(
            status=Page.Status.RUNNING,
            lease_owner=worker_name(),
            lease_expires_at=_lease_end(),
        )
    return claimed


def release(document_id: str, number: int) -> None:
    """Give back a page this worker holds (after an error, or when its document was cancelled)."""
    Page.objects.filter(
        document_id=document_id, number=number, status=Page.Status.RUNNING, lease_owner=worker_name()
    ).update(status=Page.Status.PENDING, lease_owner="", lease_expires_at=None)


def renew_held() -> int:
    """Extend the leases of the pages this process is reading; returns how many."""
    with _held_lock:
        held = list(_held)
    if not held:
        return 0
    which = Q()
    for document_id, number in held:
        which |= Q(document_id=document_id, number=number)
    return Page.objects.filter(which, status=Page.Status.RUNNING, lease_owner=worker_name()).update(
        lease_expires_at=_lease_end()
    )
