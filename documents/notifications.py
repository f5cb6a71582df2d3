"""Predictions against what happened, and the e-mail that a document finished.

A prediction is written when a run of a document is first seen in the queue, and completed
with the actual start (its first page attempt) and finish when it ends, so that the error of
the ETA can be measured (benchmarks/sockets_fanout.py reports its median).
"""

import logging
import uuid
from datetime import timedelta

from django.core.mail import send_mail
from django.db.models import Min
from django.utils import timezone

from documents.models import Document, NotificationPreference, Prediction
from processing.models import Attempt
from processing.queue_position import QueueState

logger = logging.getLogger(__name__)


def record_predictions(waiting: list[QueueState]) -> int:
    """A prediction for each queued run that has none yet; returns how many were written."""
    runs = [s for s in waiting if s.enqueued_at is not None and s.eta_p50 is not None]
    if not runs:
        return 0
    known = set(
        Prediction.objects.filter(document_id__in=[s.document_id for s in runs]).values_list(
            "document_id", "enqueued_at"
        )
    )
    now = timezone.now()
    new = [
        Prediction(
            document_id=s.document_id,
            enqueued_at=s.enqueued_at,
            predicted_at=now,
            position=s.position,
            predicted_start_p50=now + timedelta(seconds=s.eta_p50),
            predicted_start_p90=now + timedelta(seconds=s.eta_p90 or s.eta_p50),
        )
        for s in runs
        if (uuid.UUID(s.document_id), s.enqueued_at) not in known
    ]
    Prediction.objects.bulk_create(new, ignore_conflicts=True)
    return len(new)


def document_finished(document: Document) -> None:
    """Complete the run's prediction and e-mail the owner, once per run."""
    enqueued_at = getattr(getattr(document, "job", None), "enqueued_at", None)
    if enqueued_at is None:
        return
    first_page = Attempt.objects.filter(
        job__document=document, stage=Attempt.Stage.PAGE, started_at__gte=enqueued_at
    ).aggregate(first=Min("started_at"))["first"]
    prediction, _ = Prediction.objects.get_or_create(
        document=document, enqueued_at=enqueued_at, defaults={"predicted_at": timezone.now()}
    )
    Prediction.objects.filter(id=prediction.id).update(actual_start=first_page, actual_finish=document.finished_at)
    # The conditional update makes the e-mail go once even when two processes see the end.
    claimed = Prediction.objects.filter(id=prediction.id, notified_at__isnull=True).update(notified_at=timezone.now())
    if claimed and document.status != Document.Status.CANCELLED and wants_email(document.owner):
        _send_finished_email(document)


def wants_email(user) -> bool:
    return bool(user.email) and wants_email_setting(user)


def wants_email_setting(user) -> bool:
    """The person's choice, whether or not they have an address yet (on by default)."""
    preference = NotificationPreference.objects.filter(user=user).first()
    return preference.email_on_finish if preference else True


def set_email_on_finish(user, enabled: bool) -> NotificationPreference:
    preference, _ = NotificationPreference.objects.update_or_create(user=user, defaults={"email_on_finish": enabled})
    return preference


def _send_finished_email(document: Document) -> None:
    outcome = "is ready" if document.status == Document.Status.COMPLETED else "could not be read"
    body = f"{document.original_name} {outcome}: {document.status_text}.\n"
    if document.error:
        body += f"\n{document.error}\n"
    try:
        send_mail(f"Exora: {document.original_name} {outcome}", body, None, [document.owner.email])
    except Exception:
        logger.exception("could not e-mail %s about document %s", document.owner.email, document.id)
