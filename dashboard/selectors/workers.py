"""Worker processes as the dashboard shows them: alive, stale or dead, and what they hold.

A worker that exits cleanly marks its row stopped; one that is killed just goes silent, and
is stale, then dead, by the age of its last heartbeat. For a dead worker we show the pages
it held (its last heartbeat's list, pages still leased to it, attempts it never finished)
and what became of them since: handed back, read by another worker, or failed.
"""

from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Q

from dashboard.figures import DocumentJob, HeldJob, WorkerRow, WorkItem
from documents.models import Document
from processing import lanes

# Re-exported: the dashboard speaks of a worker's state through this module.
from processing.heartbeat import ALIVE as ALIVE
from processing.heartbeat import DEAD as DEAD
from processing.heartbeat import STALE as STALE
from processing.heartbeat import STOPPED as STOPPED
from processing.heartbeat import liveness as liveness
from processing.identity import database_now
from processing.models import Attempt, Page, WorkerProcess

# What became of the start stage a dead worker held, by the document's status now.
START_FATES: dict[str, str] = {
    Document.Status.QUEUED: "start queued again",
    Document.Status.CONVERTING: "start not finished: recovery will send it again",
}


def recent_workers(now: datetime, forget_after_seconds: int = 3600) -> list[WorkerProcess]:
    """Workers heard from in the last hour (older ones are history, kept for a week)."""
    return list(WorkerProcess.objects.filter(last_heartbeat__gte=now - timedelta(seconds=forget_after_seconds)))


def workers_overview(now: datetime | None = None) -> list[WorkerRow]:
    """Every recent worker with its state; a dead one with the jobs it held and their fate."""
    now = now or database_now()
    leases = _leases_by_owner(now)
    rows: list[WorkerRow] = []
    for worker in recent_workers(now):
        state = liveness(worker, now)
        leased = leases.get(worker.name, [])
        rows.append(
            {
                "name": worker.name,
                "host": worker.host,
                "pid": worker.pid,
                "queues": worker.queues,
                "threads": worker.threads,
                "state": state,
                "started_at": worker.started_at.isoformat(),
                "last_heartbeat": worker.last_heartbeat.isoformat(),
                # Never negative: hosts' clocks differ by a little.
                "heartbeat_age_seconds": round(max((now - worker.last_heartbeat).total_seconds(), 0.0), 1),
                "rss_bytes": worker.rss_bytes,
                "memory_limit_bytes": worker.memory_limit_bytes,
                "memory_percent": _percent(worker.rss_bytes, worker.memory_limit_bytes),
                "cpu_percent": worker.cpu_percent,
                "messages_done": worker.messages_done,
                "current": _current_work(worker, leased) if state in (ALIVE, STALE) else [],
                "held": held_by_dead_worker(worker, leased) if state == DEAD else [],
            }
        )
    order = {ALIVE: 0, STALE: 1, DEAD: 2, STOPPED: 3}
    rows.sort(key=lambda row: (order[row["state"]], row["name"]))
    return rows


def _percent(part: int, whole: int) -> float | None:
    return round(100.0 * part / whole, 1) if whole else None


def _leases_by_owner(now: datetime) -> dict[str, list[tuple[str, int]]]:
    """Pages being read, by the worker holding them: one query for every worker, on the lease
    index (a lease that ran out over an hour ago belongs to a worker no longer listed)."""
    leases: dict[str, list[tuple[str, int]]] = {}
    rows = Page.objects.filter(lease_expires_at__gte=now - timedelta(hours=1), status=Page.Status.RUNNING)
    for owner, document_id, number in rows.values_list("lease_owner", "document_id", "number"):
        leases.setdefault(owner, []).append((str(document_id), number))
    return leases


def _current_work(worker: WorkerProcess, leased: list[tuple[str, int]]) -> list[WorkItem]:
    """The messages it said it was running, plus pages leased to it that it has not reported yet."""
    work: list[WorkItem] = [
        {"document": w.get("document", ""), "page": w.get("page"), "actor": w.get("actor", "")} for w in worker.current
    ]
    known = {(w["document"], w["page"]) for w in work}
    for document_id, number in leased:
        if (document_id, number) not in known:
            work.append({"document": document_id, "page": number, "actor": lanes.DEFAULT.actor})
    return work


def held_by_dead_worker(worker: WorkerProcess, leased: list[tuple[str, int]]) -> list[HeldJob]:
    """The pages a dead worker held, and what happened to each since: what its last heartbeat
    said, pages still leased to it, and attempts it started and never finished."""
    held: set[tuple[str, int | None]] = set(leased)
    for work in worker.current:
        held.add((work.get("document", ""), work.get("page")))
    unfinished = Attempt.objects.filter(worker=worker.name, outcome="").values_list("job__document_id", "page_number")
    for document_id, number in unfinished:
        held.add((str(document_id), number))
    held.discard(("", None))
    return [_fate(document_id, number, worker.name) for document_id, number in sorted(held, key=str)][:50]


def _fate(document_id: str, number: int | None, dead_name: str) -> HeldJob:
    """What became of one job a dead worker held, in a phrase an operator can act on."""
    document = Document.objects.filter(id=document_id).only("status", "original_name").first()
    entry: DocumentJob = {"document": document_id, "page": number, "name": document.original_name if document else ""}
    if document is None:
        return {**entry, "fate": "document deleted"}
    if number is None:  # the start stage: counting pages
        fate = START_FATES.get(document.status, f"document {document.get_status_display().lower()}")
        return {**entry, "fate": fate}
    page = Page.objects.filter(document_id=document_id, number=number).only("status", "lease_owner").first()
    if page is None:
        return {**entry, "fate": "page not created"}
    if page.status == Page.Status.DONE:
        fate = "read since by another worker"
    elif page.status == Page.Status.RUNNING and page.lease_owner == dead_name:
        fate = "still leased to the dead worker: recovery hands it back when the lease runs out"
    elif page.status == Page.Status.RUNNING:
        fate = f"being read again by {page.lease_owner}"
    elif document.status == Document.Status.FAILED:
        fate = "document failed (set aside)"
    elif document.status == Document.Status.CANCELLED:
        fate = "document cancelled"
    else:
        fate = "handed back: waiting for a worker"
    return {**entry, "fate": fate}


def alive_workers_by_queue(now: datetime | None = None) -> dict[str, int]:
    """How many alive worker processes read each queue."""
    now = now or database_now()
    counts: dict[str, int] = {}
    for worker in recent_workers(now):
        if liveness(worker, now) == ALIVE:
            for queue in worker.queues:
                counts[queue] = counts.get(queue, 0) + 1
    return counts


def alive_threads(now: datetime | None = None) -> int:
    now = now or database_now()
    return sum(w.threads for w in recent_workers(now) if liveness(w, now) == ALIVE)


def stale_or_dead_since(now: datetime, forget_after_seconds: int = 3600) -> dict[str, float]:
    """Seconds since the last heartbeat of every worker that went silent in the last hour and
    still needs someone: it holds pages no one took back yet, or no live worker reads the queues
    it read. A worker that stopped cleanly says so and needs no one; at fleet scale workers come
    and go with the autoscaler, and a replaced one is no news."""
    silent = list(
        WorkerProcess.objects.filter(
            Q(stopped_at__isnull=True),
            last_heartbeat__lt=now - timedelta(seconds=settings.EXORA_WORKER_STALE_SECONDS),
            last_heartbeat__gte=now - timedelta(seconds=forget_after_seconds),
        )
    )
    if not silent:
        return {}
    holding = set(
        Page.objects.filter(status=Page.Status.RUNNING, lease_owner__in=[w.name for w in silent]).values_list(
            "lease_owner", flat=True
        )
    )
    read_now = set(alive_workers_by_queue(now))
    return {
        w.name: round((now - w.last_heartbeat).total_seconds(), 1)
        for w in silent
        if w.name in holding or not set(w.queues or lanes.QUEUES) <= read_now
    }
