"""Operator actions from the dashboard, each written to the audit log (who, what, when).

Retrying is a change of the document's status: `retry_document` only points at
`documents.lifecycle.document_retry`, so the dashboard, the admin and the owner's page share
one rule for what may be retried.
"""

from dataclasses import dataclass, field

from django.contrib.admin.models import ADDITION, CHANGE, DELETION, LogEntry
from django.contrib.auth.models import AnonymousUser, User
from django.db import transaction

from dashboard.models import Alert, AuditLog
from dashboard.selectors import failures
from dashboard.services import alerts
from documents import lifecycle
from documents.models import Document

DASHBOARD, ADMIN = "dashboard", "admin"

# Who acts: the request's user (an operator, behind staff_required), an admin entry's, or None: the system.
Actor = User | AnonymousUser | None


def audit(
    user: Actor, action: str, *, target_type: str = "", target_id: str = "", detail: str = "", source: str = DASHBOARD
) -> AuditLog:
    # Only an account with a row can be linked; the others are recorded by name.
    account = None if user is None or isinstance(user, AnonymousUser) or not user.pk else user
    return AuditLog.objects.create(
        user=account,
        username=getattr(user, "username", "") or "(system)",
        source=source,
        action=action,
        target_type=target_type,
        target_id=str(target_id),
        detail=detail[:2000],
    )


def retry_document(document_id: str, user: Actor) -> str | None:
    """Queue a failed or cancelled document again; the reason it cannot be, or None."""
    try:
        with transaction.atomic():
            lifecycle.document_retry(document_id, user)
            audit(user, "retry document", target_type="document", target_id=document_id)
    except lifecycle.StatusConflict as conflict:
        return conflict.message
    except Document.DoesNotExist:
        return "There is no such document."
    return None


@dataclass
class GroupRetry:
    retried: list[str] = field(default_factory=list)
    refused: dict[str, str] = field(default_factory=dict)


def retry_failure_group(stage: str, error_class: str, user: Actor) -> GroupRetry:
    """Retry every still-failed document of one inbox group, one audit entry for the group."""
    result = GroupRetry()
    for document_id in failures.documents_in_group(stage, error_class):
        problem = retry_document(document_id, user)
        if problem:
            result.refused[document_id] = problem
        else:
            result.retried.append(document_id)
    audit(
        user,
        "retry failure group",
        target_type="failure group",
        target_id=f"{stage}/{error_class}"[:100],
        detail=f"retried {len(result.retried)}, refused {len(result.refused)}",
    )
    return result


def acknowledge_alert(alert_id: int, user: Actor, source: str = DASHBOARD) -> bool:
    """Acknowledge an open alert; False when it is resolved, acknowledged already, or gone."""
    alert = Alert.objects.filter(id=alert_id).select_related("rule").first()
    if alert is None or not alerts.acknowledge(alert, user):
        return False
    audit(user, "acknowledge alert", target_type="alert", target_id=str(alert_id), detail=str(alert), source=source)
    return True


def record_admin_entry(entry: LogEntry) -> AuditLog:
    """Copy an admin log entry (documents retried or cancelled there, rules edited, …) into
    the audit log, so that one place answers who did what, whichever screen they used."""
    action = {ADDITION: "add", CHANGE: "change", DELETION: "delete"}.get(entry.action_flag, "act")
    model = entry.content_type.model if entry.content_type else ""
    return audit(
        entry.user,
        f"{action} {model}".strip(),
        target_type=model,
        target_id=entry.object_id or "",
        detail=entry.get_change_message() or entry.object_repr,
        source=ADMIN,
    )
