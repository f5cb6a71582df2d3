"""The failures inbox: documents that failed and are still failed, grouped by what failed them.

A group is a stage and an error class, taken from the attempt that failed the document. A
document failed without such an attempt (set aside by recovery after its worker died on it
again and again, or failed by an operator) is grouped under "recovery".
"""

from datetime import datetime
from uuid import UUID

from django.db.models import Count, Max, Min, OuterRef, Subquery

from dashboard.figures import FailedDocument, FailureGroup
from documents.models import Document
from processing.models import Attempt

RECOVERY_STAGE = "recovery"
LATEST_PER_GROUP = 5


def failure_groups(limit: int = 50) -> list[FailureGroup]:
    """One entry per (stage, error class): count, first and last seen, latest message, documents."""
    failing = Attempt.objects.filter(outcome=Attempt.Outcome.FAILED, job__document__status=Document.Status.FAILED)
    groups = list(
        failing.values("stage", "error_class")
        .annotate(
            count=Count("job__document", distinct=True), first_seen=Min("finished_at"), last_seen=Max("finished_at")
        )
        .order_by("-last_seen")[:limit]
    )
    result: list[FailureGroup] = []
    for group in groups:
        in_group = failing.filter(stage=group["stage"], error_class=group["error_class"]).order_by("-finished_at")
        latest = in_group.values("message", "job__document_id", "job__document__original_name", "page_number")
        recent = list(latest[: LATEST_PER_GROUP * 3])
        documents: list[FailedDocument] = []
        seen: set[UUID] = set()
        for row in recent:
            if row["job__document_id"] not in seen:
                seen.add(row["job__document_id"])
                documents.append(
                    {
                        "id": str(row["job__document_id"]),
                        "name": row["job__document__original_name"],
                        "page": row["page_number"],
                    }
                )
        result.append(
            {
                "stage": group["stage"],
                "error_class": group["error_class"] or "(none)",
                "count": group["count"],
                "first_seen": _iso(group["first_seen"]),
                "last_seen": _iso(group["last_seen"]),
                "latest_message": recent[0]["message"] if recent else "",
                "documents": documents[:LATEST_PER_GROUP],
            }
        )
    recovery = _failed_without_attempt()
    if recovery:
        result.append(recovery)
    return result


def _failed_without_attempt() -> FailureGroup | None:
    failed_attempts = Attempt.objects.filter(job__document=OuterRef("pk"), outcome=Attempt.Outcome.FAILED)
    documents = (
        Document.objects.filter(status=Document.Status.FAILED)
        .annotate(failed_attempt=Subquery(failed_attempts.values("id")[:1]))
        .filter(failed_attempt__isnull=True)
        .order_by("-finished_at")
    )
    summary = documents.aggregate(count=Count("id"), first_seen=Min("finished_at"), last_seen=Max("finished_at"))
    if not summary["count"]:
        return None
    recent = list(documents.values("id", "original_name", "error")[:LATEST_PER_GROUP])
    return {
        "stage": RECOVERY_STAGE,
        "error_class": "(no attempt failed it)",
        "count": summary["count"],
        "first_seen": _iso(summary["first_seen"]),
        "last_seen": _iso(summary["last_seen"]),
        "latest_message": recent[0]["error"] if recent else "",
        "documents": [{"id": str(r["id"]), "name": r["original_name"], "page": None} for r in recent],
    }


def documents_in_group(stage: str, error_class: str) -> list[str]:
    """The ids of the still-failed documents of one group, for "retry the group"."""
    if stage == RECOVERY_STAGE:
        failed_attempts = Attempt.objects.filter(job__document=OuterRef("pk"), outcome=Attempt.Outcome.FAILED)
        set_aside = (
            Document.objects.filter(status=Document.Status.FAILED)
            .annotate(failed_attempt=Subquery(failed_attempts.values("id")[:1]))
            .filter(failed_attempt__isnull=True)
            .values_list("id", flat=True)
        )
        return [str(i) for i in set_aside]
    error_class = "" if error_class == "(none)" else error_class
    ids = (
        Attempt.objects.filter(
            outcome=Attempt.Outcome.FAILED,
            job__document__status=Document.Status.FAILED,
            stage=stage,
            error_class=error_class,
        )
        .order_by()
        .values_list("job__document_id", flat=True)
        .distinct()
    )
    return [str(i) for i in ids]


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None
