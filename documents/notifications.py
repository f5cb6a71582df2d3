"""Predictions against what happened, and the e-mail that a document finished.

A prediction is written when a run of a document is queued (documents.lifecycle), and
completed with the actual start (its first page attempt) and finish when it ends, so that the
error of the ETA can be measured (benchmarks/sockets_fanout.py reports its median).
"""

import logging
from datetime import timedelta

from django.contrib.auth.models import User
from django.core.mail import send_mail
from django.utils import timezone

from documents.models import Document, NotificationPreference, Prediction
from processing.api import QueueState, Run

logger = logging.getLogger(__name__)


def record_prediction(state: QueueState | None) -> bool:
    """The ETA told for a queued run, unless its run has one already; True when written."""
    if state is None or state.position is None or state.enqueued_at is None or state.eta_p50 is None:
        return False
    now = timezone.now()
    _, created = Prediction.objects.get_or_create(
        document_id=state.document_id,
        enqueued_at=state.enqueued_at,
        defaults={
            "predicted_at": now,
            "position": state.position,
            "predicted_start_p50": now + timedelta(seconds=state.eta_p50),
            "predicted_start_p90": now + timedelta(seconds=state.eta_p90 or state.eta_p50),
        },
    )
    return created


def document_finished(document: Document, run: Run) -> None:
    """Complete the run's prediction and e-mail the owner, once per run."""
    if run.enqueued_at is None:
        return
    prediction, _ = Prediction.objects.get_or_create(
        document=document, enqueued_at=run.enqueued_at, defaults={"predicted_at": timezone.now()}
    )
    Prediction.objects.filter(id=prediction.id).update(
        actual_start=run.first_page_started_at, actual_finish=document.finished_at
    )
    # The conditional update makes the e-mail go once even when two processes see the end.
    claimed = Prediction.objects.filter(id=prediction.id, notified_at__isnull=True).update(notified_at=timezone.now())
    if claimed and document.status != Document.Status.CANCELLED and wants_email(document.owner):
        _send_finished_email(document)


def wants_email(user: User) -> bool:
    return bool(user.email) and wants_email_setting(user)


def wants_email_setting(user: User) -> bool:
    """The person's choice, whether or not they have an address yet (on by default)."""
    preference = NotificationPreference.objects.filter(user=user).first()
    return preference.email_on_finish if preference else True


def set_email_on_finish(user: User, enabled: bool) -> NotificationPreference:
    preference, _ = NotificationPreference.objects.update_or_create(user=user, defaults={"email_on_finish": enabled})
    return preference


def _send_finished_email(document: Document) -> None:
    """No file name, text or error in it: an e-mail crosses servers and lands in inboxes the
    service does not guard. The owner signs in to see which document it is."""
    outcome = "is ready" if document.status == Document.Status.COMPLETED else "could not be read"
    uploaded = timezone.localtime(document.created_at).strftime("%Y-%m-%d %H:%M %Z")
    body = f"A document you uploaded on {uploaded} {outcome}. Sign in to Exora to see it.\n"
    try:
        send_mail(f"Exora: a document {outcome}", body, None, [document.owner.email])
    except Exception:
        logger.exception("could not e-mail %s about document %s", document.owner.email, document.id)
