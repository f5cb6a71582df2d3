"""Writes of a document's job: creating it in its lane, starting, stopping and queueing it again.

The document's own row is changed by documents.lifecycle, in the same transaction as these;
this module touches only processing's rows (the job, its pages) and sends work after commit.
"""

from datetime import datetime

from django.conf import settings
from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone

from processing import dispatch, lanes
from processing.models import Job, Page


def job_create(document_id: str, owner: User, page_count: int | None, owner_waiting: int | None = None) -> Job:
    """Create the job of a new document in its lane, and queue its start once the transaction
    commits (a worker must never look for a document it cannot see yet). `owner_waiting`: the
    owner's documents not finished before this one, when the caller knows (counted otherwise)."""
    lane = lane_for(owner, page_count, owner_waiting)
    job = Job.objects.create(document_id=document_id, lane=lane, enqueued_at=timezone.now())
    transaction.on_commit(lambda: dispatch.send_start(str(document_id)))
    return job


def lane_for(owner: User, page_count: int | None, owner_waiting: int | None = None) -> str:
    """Priority for the paid tier; bulk for very large documents and for many at once."""
    if owner.groups.filter(name=settings.EXORA_PRIORITY_GROUP).exists():
        return lanes.BY_NAME["priority"].name
    if (page_count or 0) > settings.EXORA_BULK_PAGES:
        return lanes.BY_NAME["bulk"].name
    if owner_waiting is None:
        owner_waiting = Job.objects.filter(document__owner=owner, document__finished_at__isnull=True).count()
    if owner_waiting + 1 >= settings.EXORA_BULK_DOCUMENTS:  # the new one included
        return lanes.BY_NAME["bulk"].name
    return lanes.DEFAULT.name


def job_change_lane(document_id: str, lane: str) -> str:
    """Put a document's pages not yet sent in another lane (an operator's decision); returns
    the lane it was in. Pages already queued stay where they are: at most a window of them."""
    job = Job.objects.get(document_id=document_id)
    previous, job.lane = job.lane, lanes.BY_NAME[lane].name
    job.save(update_fields=["lane"])
    return previous


def job_start(document_id: str) -> None:
    Job.objects.filter(document_id=document_id).update(started_at=timezone.now())


def job_finish(document_id: str, finished_at: datetime) -> None:
    """The document finished (completed, failed or cancelled) at `finished_at`."""
    Job.objects.filter(document_id=document_id).update(finished_at=finished_at)


def job_fail(document_id: str, message: str, finished_at: datetime) -> None:
    Job.objects.filter(document_id=document_id).update(last_error=message, finished_at=finished_at)


def job_requeue(document_id: str) -> int:
    """Queue a stopped job again: its pages not read yet go back to waiting (a page still claimed
    by the stopped run would never be claimed again) and its start is sent after commit.
    Returns how many pages were read already, which are kept."""
    pages = Page.objects.filter(document_id=document_id)
    pages.exclude(status=Page.Status.DONE).update(status=Page.Status.PENDING, lease_owner="", lease_expires_at=None)
    Job.objects.filter(document_id=document_id).update(enqueued_at=timezone.now(), started_at=None, finished_at=None)
    transaction.on_commit(lambda: dispatch.send_start(str(document_id)))
    return pages.filter(status=Page.Status.DONE).count()
