"""Positions and ETAs counted from the database: lanes, pages ahead, workers alive or dying,
and the honest states when a number cannot be given."""

from datetime import timedelta
from typing import Any

import pytest
from django.contrib.auth.models import Group
from django.core import mail
from django.utils import timezone

from documents import lifecycle, notifications
from documents.models import Document, Prediction
from processing import queue
from processing.models import Attempt, Page
from tests.realtime.conftest import page_history, queued_document, worker


@pytest.fixture(autouse=True)
def _measured(alice, settings):
    # Pages took 2 s each (p50 2 s, p90 4 s); each document keeps 2 pages in the queue.
    settings.EXORA_DOCUMENT_WINDOW = 2
    page_history(alice, [2.0] * 8 + [4.0] * 2)
    queue.page_times(fresh=True)


def test_priority_then_standard_then_bulk_weighted_by_pages(alice, bob):
    # GIVEN two worker slots alive and documents queued in every lane, oldest first
    worker("w1", threads=2)
    standard_old = queued_document(bob, pages=5, ago=50)
    bulk = queued_document(bob, lane="bulk", pages=400, ago=40)
    priority_a = queued_document(alice, lane="priority", pages=1, ago=30)
    priority_b = queued_document(alice, lane="priority", pages=3, ago=20)

    # WHEN the queue is counted
    states = queue.queue_states()

    # THEN priority goes first, then standard, then bulk, each lane by upload time
    # Any: every document with a position has an ETA here, which QueueState's type cannot say.
    ordered: list[Any] = sorted((s for s in states.values() if s.position), key=lambda s: s.position)
    assert [s.document_id for s in ordered] == [str(d.id) for d in (priority_a, priority_b, standard_old, bulk)]
    # AND the ETA counts pages ahead (at most a window of 2 per document) at 2 s over 2 slots
    typical = queue.page_times().typical  # about 2 s, the recent pages weighing more
    pages_ahead = [0, 1, 1 + 2, 1 + 2 + 2]
    assert [s.eta_p50 for s in ordered] == pytest.approx([n * typical / 2 for n in pages_ahead])
    assert all(s.eta_seconds["p90"] > s.eta_seconds["p50"] for s in ordered[1:])
    # AND the standard ones moved back behind priority uploads made after them, and say so
    assert states[str(standard_old.id)].message == "moved back: 2 priority documents were added"
    assert states[str(priority_a.id)].message == ""


def test_a_priority_upload_overtakes_with_a_reason(alice, bob):
    worker("w1")
    mine = queued_document(bob, pages=1, ago=10)
    assert queue.queue_states()[str(mine.id)].position == 1
    # WHEN a priority document is added after it
    alice.groups.add(Group.objects.get_or_create(name="priority")[0])
    queued_document(alice, lane="priority", pages=1, ago=1)
    # THEN it moves back one place, with the reason in words
    state = queue.queue_states()[str(mine.id)]
    assert (state.position, state.message) == (2, "moved back: a priority document was added")


def test_running_pages_add_the_time_they_have_left(alice):
    # GIVEN one slot reading page 1 of a started document for 0.5 s (of a typical 2 s)
    worker("w1")
    running = queued_document(alice, pages=1, ago=30)
    _start_page(running, seconds_ago=0.5, lease_left=10)
    waiting = queued_document(alice, pages=1, ago=10)
    states = queue.queue_states()
    # THEN the running one has no position, and the waiting one waits for its 1.5 s left
    assert states[str(running.id)].position is None
    assert states[str(waiting.id)].position == 1
    typical = queue.page_times().typical
    assert states[str(waiting.id)].eta_p50 == pytest.approx(typical - 0.5, abs=0.2)


def test_a_worker_dying_slows_the_eta_then_leaves_no_number(alice):
    # GIVEN two workers alive and three one-page documents queued
    w1, w2 = worker("w1"), worker("w2")
    docs = [queued_document(alice, pages=1, ago=30 - i) for i in range(3)]
    typical = queue.page_times().typical
    assert queue.queue_states()[str(docs[2].id)].eta_p50 == pytest.approx(2 * typical / 2)
    # WHEN one worker goes silent (its heartbeat is stale)
    w2.last_heartbeat = timezone.now() - timedelta(seconds=30)
    w2.save()
    # THEN the same pages ahead take twice as long
    assert queue.queue_states()[str(docs[2].id)].eta_p50 == pytest.approx(2 * typical)
    # WHEN the other one goes silent too
    w1.last_heartbeat = timezone.now() - timedelta(seconds=30)
    w1.save()
    state = queue.queue_states()[str(docs[2].id)]
    # THEN the position stays, the ETA is withheld, and the reason is given
    assert (state.position, state.eta_seconds, state.message) == (3, None, "waiting for a worker")


def test_a_page_whose_lease_ran_out_is_a_lost_worker_not_a_running_page(alice):
    worker("w1")
    started = queued_document(alice, pages=2, ago=30)
    _start_page(started, seconds_ago=20, lease_left=-5)  # its worker died holding page 1
    waiting = queued_document(alice, pages=1, ago=10)
    states = queue.queue_states()
    assert states[str(started.id)].message == queue.WORKER_LOST
    # Nothing is left running; the dead worker's document still has its 2 pages ahead.
    assert states[str(waiting.id)].eta_p50 == pytest.approx(2 * queue.page_times().typical)


def test_retrying_and_paused_are_said_instead_of_a_number(alice):
    worker("w1", queues=["documents", "pages-priority", "pages"])  # nobody reads the bulk lane
    retried = queued_document(alice, pages=1, ago=30)
    attempt = _attempt(retried, page=None, outcome=Attempt.Outcome.RETRYING, seconds_ago=3)
    bulk = queued_document(alice, lane="bulk", pages=200, ago=20)
    states = queue.queue_states()
    assert states[str(retried.id)].message == queue.RETRYING
    assert states[str(bulk.id)].message == queue.PAUSED and states[str(bulk.id)].eta_seconds is None
    # WHEN the retry succeeds, it is no longer said to be retrying
    _attempt(retried, page=None, outcome=Attempt.Outcome.SUCCEEDED, seconds_ago=1)
    assert queue.queue_states()[str(retried.id)].message == ""
    assert attempt.outcome == Attempt.Outcome.RETRYING


def test_predictions_are_recorded_and_completed_and_the_owner_is_emailed_once(alice, bob, settings):
    worker("w1")
    document = queued_document(alice, pages=1, ago=5)
    quiet = queued_document(bob, pages=1, ago=4)
    notifications.set_email_on_finish(bob, False)
    # WHEN it is uploaded, the ETA it was given is kept
    lifecycle.announce_queued(str(document.id))  # as on upload
    prediction = Prediction.objects.get(document=document)
    assert prediction.position == 1 and prediction.predicted_start_p50 is not None
    # WHEN both documents complete
    for d in (document, quiet):
        _attempt(d, page=1, outcome=Attempt.Outcome.SUCCEEDED, seconds_ago=1)
        finished = {"status": Document.Status.COMPLETED, "pages_done": 1, "finished_at": timezone.now()}
        Document.objects.filter(id=d.id).update(**finished)
        lifecycle.announce_finished(str(d.id), queue=False)
        lifecycle.announce_finished(str(d.id), queue=False)  # seen twice: still one e-mail
    # THEN the prediction has its actual start and finish, and only alice (who wants it) has mail
    prediction.refresh_from_db()
    assert prediction.actual_start is not None and prediction.actual_finish is not None
    assert [m.to for m in mail.outbox] == [["alice@example.org"]]
    assert "is ready" in mail.outbox[0].subject


def _attempt(document: Document, *, page: int | None, outcome: str, seconds_ago: float) -> Attempt:
    now = timezone.now()
    return Attempt.objects.create(
        job=document.job,
        stage=Attempt.Stage.PAGE if page else Attempt.Stage.START,
        page_number=page,
        worker="test:1",
        started_at=now - timedelta(seconds=seconds_ago),
        finished_at=now if outcome else None,
        outcome=outcome,
    )


def _start_page(document: Document, *, seconds_ago: float, lease_left: float) -> None:
    now = timezone.now()
    Document.objects.filter(id=document.id).update(status=Document.Status.READING)
    Page.objects.create(
        document=document,
        number=1,
        status=Page.Status.RUNNING,
        lease_owner="test:1",
        lease_expires_at=now + timedelta(seconds=lease_left),
    )
    _attempt(document, page=1, outcome="", seconds_ago=seconds_ago)


def test_the_pace_of_a_run_of_pages_stored_at_once_is_shared_by_its_pages():
    # GIVEN a page stored alone, then a run of 4 stored together 2 s later, then one more 1 s later
    start = timezone.now()
    done_at = [start, *[start + timedelta(seconds=2)] * 4, start + timedelta(seconds=3)]

    # WHEN the pace of pages is measured
    gaps = queue.pace(done_at)

    # THEN the 2 s are shared by the 4 pages of the run: 0.5 s a page, then 1 s for the last
    assert gaps == [0.5, 1.0]
