"""Finding work that was lost and giving it back to the workers.

Two things can lose work: a worker that dies holding a page (its lease runs out), and a
broker that loses its messages (Redis restarted without persistence, or flushed). The
database knows every page still to read, so one pass over it finds both:

1. pages whose lease ran out go back to the queue, or, after `MAX_CRASHES` workers died on
   them, fail their document as poison instead of looping forever. A worker counts as having
   died on its page only when its host outlived it: a whole host lost (its node went silent
   with it, or was drained) says nothing about the page;
2. pages and documents whose message is no longer in the broker are sent again
   (processing.brokers says which are there).

Reading a page twice costs only time: a page is claimed before it is read and stored once.
"""

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import dramatiq
from django.conf import settings
from django.db import transaction
from django.db.models import F, Q

from documents import lifecycle
from processing import dispatch, identity, lanes, tallies
from processing.brokers import BrokerQueues, broker_queues
from processing.identity import database_now
from processing.models import Page, WorkerProcess

logger = logging.getLogger(__name__)

MAX_CRASHES = 3


@dataclass
class Recovered:
    expired_leases: list[tuple[str, int]] = field(default_factory=list)
    crashes: list[tuple[str, int]] = field(default_factory=list)  # of those, the ones their worker died on
    quarantined: list[str] = field(default_factory=list)
    resent_pages: list[tuple[str, int]] = field(default_factory=list)
    resent_documents: list[str] = field(default_factory=list)


def recover(broker: dramatiq.Broker) -> Recovered:
    """One recovery pass; `broker` is the Dramatiq broker whose messages may have been lost."""
    recovered = Recovered()
    _hand_back_expired_leases(recovered)
    queues = broker_queues(broker)
    if queues is not None:  # the in-memory stub broker loses nothing it was given
        _resend_lost_messages(queues, recovered)
    if recovered.expired_leases or recovered.resent_pages or recovered.resent_documents:
        lifecycle.documents_queue_moved()  # the owners' pages show the new positions at once
    return recovered


def _hand_back_expired_leases(recovered: Recovered) -> None:
    now = database_now()  # the clock the leases were stamped with
    lease = timedelta(seconds=settings.EXORA_LEASE_SECONDS)
    expired = Page.objects.filter(status=Page.Status.RUNNING, lease_expires_at__lt=now).values_list(
        "id", "document_id", "number", "lease_owner", "lease_expires_at", "crash_count"
    )
    for page_id, document_id, number, owner, expires_at, crashes in expired:
        expired_at: datetime = expires_at or now  # the filter says it is set; the type cannot
        silent_since = expired_at - lease  # its last renewal
        crashed = _died_on_its_page(owner, silent_since)
        with transaction.atomic():
            handed_back = Page.objects.filter(id=page_id, status=Page.Status.RUNNING, lease_owner=owner).update(
                status=Page.Status.PENDING,
                lease_owner="",
                lease_expires_at=None,
                crash_count=F("crash_count") + (1 if crashed else 0),
            )
            if handed_back:  # counted where it cannot go down when the page is deleted
                tallies.count_now(tallies.PAGES_RECOVERED)
        if not handed_back:
            continue  # finished or taken over since we looked
        crashes += 1 if crashed else 0
        logger.warning(
            "recovery: page %s of document %s held by %s worker %s (silent for %.0f s, crash %s)",
            number, document_id, "crashed" if crashed else "lost", owner, (now - silent_since).total_seconds(), crashes,
        )  # fmt: skip
        recovered.expired_leases.append((str(document_id), number))
        if crashed:
            recovered.crashes.append((str(document_id), number))
        if crashes >= MAX_CRASHES:
            lifecycle.document_fail(
                str(document_id),
                f"Page {number} stopped the worker reading it {crashes} times, so this document was set aside. "
                "The file may be damaged: try a new scan or export of it.",
            )
            recovered.quarantined.append(str(document_id))
        else:
            # It waited once already: it goes before pages that have not.
            dispatch.send_page(str(document_id), number, lane=lanes.RECOVERED.name)


def _died_on_its_page(owner: str, silent_since: datetime) -> bool:
    """Whether the worker that held a lease died on its page, rather than with its host.

    Its host outlived it when something of its node happened after it went silent: its pool
    stopped the other workers cleanly (a pool does that when one of its processes dies), a
    sibling beat after the worker should have renewed its lease, or the node started workers
    in its place. A lost host records nothing after its death; a worker that stopped cleanly
    itself (drained) crashed on nothing."""
    worker = WorkerProcess.objects.filter(name=owner).only("stopped_at").first()
    if worker is not None and worker.stopped_at is not None:
        return False
    renewed_by = silent_since + timedelta(seconds=settings.EXORA_LEASE_SECONDS / 3 + 1)
    siblings = WorkerProcess.objects.filter(host=identity.node_of(owner)).exclude(name=owner)
    return siblings.filter(
        Q(stopped_at__gt=silent_since) | Q(last_heartbeat__gt=renewed_by) | Q(started_at__gt=silent_since)
    ).exists()


def _resend_lost_messages(queues: BrokerQueues, recovered: Recovered) -> None:
    settled_before = database_now() - timedelta(seconds=settings.EXORA_LEASE_SECONDS)
    reading = Page.objects.filter(document_id__in=lifecycle.documents_reading(started_before=settled_before))
    waiting = list(
        reading.filter(status=Page.Status.PENDING)
        .exclude(message_id="")
        .values_list("document_id", "number", "message_id")
    )
    present = queues.present(lanes.PAGE_QUEUES, [message_id for _, _, message_id in waiting])
    for (document_id, number, _), is_present in zip(waiting, present, strict=True):
        if not is_present:
            logger.warning("recovery: message for page %s of document %s was lost; sending again", number, document_id)
            dispatch.send_page(str(document_id), number, lane=lanes.RECOVERED.name)
            recovered.resent_pages.append((str(document_id), number))

    # A worker that died between storing a page and sending the next leaves a document with
    # nothing in flight: fill its window again.
    in_flight = reading.filter(Q(status=Page.Status.RUNNING) | Q(status=Page.Status.PENDING, message_id__gt=""))
    idle = set(reading.filter(status=Page.Status.PENDING, message_id="").values_list("document_id", flat=True))
    for document_id in idle - set(in_flight.values_list("document_id", flat=True)):
        if dispatch.send_next_pages(str(document_id), settings.EXORA_DOCUMENT_WINDOW):
            logger.warning("recovery: document %s had no page in flight; sending the next ones", document_id)
            recovered.resent_documents.append(str(document_id))

    # Documents waiting on a message of the documents queue: their start, or their extraction.
    resend = {"start": dispatch.send_start, "extract": dispatch.send_extract}
    waiting_for_message = lifecycle.documents_waiting(created_before=settled_before)
    pending = queues.documents_with_pending_message(waiting_for_message) if waiting_for_message else set()
    for waiting_id, waiting_for in waiting_for_message.items():
        if waiting_id not in pending:
            logger.warning("recovery: the %s message of document %s was lost; sending again", waiting_for, waiting_id)
            resend[waiting_for](waiting_id)
            recovered.resent_documents.append(waiting_id)
