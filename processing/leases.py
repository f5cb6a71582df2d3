"""Page leases: which worker is reading a page, and until when.

A worker claims a page before reading it and renews the lease while it works (the heartbeat
in processing/middleware.py). A lease that runs out means the worker died holding the page;
processing/recovery.py hands such pages to another worker.
"""

import os
import socket
from datetime import timedelta

from django.conf import settings
from django.utils import timezone

from documents.models import Page


def worker_id() -> str:
    """This process as operators know it: host and pid (computed each time: workers fork)."""
    return f"{socket.gethostname()}:{os.getpid()}"


def claim(document_id: str, number: int) -> bool:
    """Take page `number` for this worker; False when it is done or another worker has it."""
    return bool(
        Page.objects.filter(document_id=document_id, number=number, status=Page.Status.PENDING).update(
            status=Page.Status.RUNNING,
            lease_owner=worker_id(),
            lease_expires_at=timezone.now() + timedelta(seconds=settings.EXORA_LEASE_SECONDS),
        )
    )


def release(document_id: str, number: int) -> None:
    """Hand a page this worker holds back to the queue's care (after an error, before a retry)."""
    Page.objects.filter(
        document_id=document_id, number=number, status=Page.Status.RUNNING, lease_owner=worker_id()
    ).update(status=Page.Status.PENDING, lease_owner="", lease_expires_at=None)


def renew(owner: str) -> int:
    """Extend the leases of every page `owner` is reading; returns how many."""
    return Page.objects.filter(status=Page.Status.RUNNING, lease_owner=owner).update(
        lease_expires_at=timezone.now() + timedelta(seconds=settings.EXORA_LEASE_SECONDS)
    )
