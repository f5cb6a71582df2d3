"""The periodic evaluator: a round over the shipped rules, and one leader at a time."""

import io
import threading
import time
from datetime import timedelta

import pytest
import redis
from django.core import mail
from django.core.management import call_command
from django.test import override_settings

from dashboard.models import Alert, DashboardSnapshot
from dashboard.services import alerts, evaluator
from documents.models import Document
from tests.dashboard.conftest import make_document

REDIS_URL = "redis://127.0.0.1:6379/11"


@pytest.mark.django_db
@pytest.mark.usefixtures("default_rules")
@override_settings(EXORA_ALERT_EMAILS=["ops@example.org"])
def test_a_round_raises_no_worker_for_a_queue_with_work_and_records_that_it_ran(user):
    # GIVEN pages waiting to be read and no worker alive; the "no worker" rule wants 60 s
    make_document(user, status=Document.Status.READING, pages=4)
    out = io.StringIO()
    # WHEN the evaluator runs a round THEN the alert is pending (nobody told yet)
    call_command("run_alerts", "--once", stdout=out)
    alert = Alert.objects.get(rule__key="no-worker")
    assert (alert.subject, alert.state, alert.value) == ("pages", "pending", 4.0)
    assert DashboardSnapshot.objects.get().alerts_evaluated_at is not None
    # WHEN it is still so 60 s later THEN it fires, critical, with one e-mail
    Alert.objects.filter(id=alert.id).update(started_at=alert.started_at - timedelta(seconds=61))
    call_command("run_alerts", "--once", stdout=out)
    alert.refresh_from_db()
    assert (alert.state, alert.severity) == ("firing", "critical")
    assert [m.subject for m in mail.outbox] == [
        "[Exora critical] raised: No worker alive for a queue that has work (pages)"
    ]
    # AND the watchdog stayed quiet: the evaluator ran
    assert not Alert.objects.filter(rule__key="watchdog").exists()


def test_one_leader_at_a_time_and_another_takes_over_when_it_stops():
    client = redis.Redis.from_url(REDIS_URL)
    client.delete(evaluator.LEADER_KEY)
    # GIVEN two evaluators on two hosts
    host_a, host_b = evaluator.leadership(client, interval=1), evaluator.leadership(client, interval=1)
    assert host_a.hold()
    # THEN only the first leads, and keeps leading
    assert not host_b.hold()
    assert host_a.hold()
    # WHEN the leader stops cleanly THEN the other takes over at once
    host_a.release()
    assert host_b.hold()
    # AND the one that stopped cannot take it back, nor release it
    assert not host_a.hold()
    host_a.release()
    assert host_b.hold()
    # AND when a leader dies, its lock runs out after three intervals
    assert 0 < client.pttl(evaluator.LEADER_KEY) <= 3000
    client.delete(evaluator.LEADER_KEY)


def test_a_leader_that_stalled_past_its_lock_cannot_renew_what_another_took():
    client = redis.Redis.from_url(REDIS_URL)
    client.delete(evaluator.LEADER_KEY)
    # GIVEN a leader whose lock ran out while it stalled, and another that took it meanwhile
    stalled, other = evaluator.leadership(client, interval=0.1), evaluator.leadership(client, interval=1)
    assert stalled.hold()
    time.sleep(0.4)
    assert other.hold()
    # WHEN the stalled one comes back THEN it is not the leader, and the other stays leader
    assert not stalled.hold()
    stalled.release()
    assert other.hold() and client.exists(evaluator.LEADER_KEY)
    client.delete(evaluator.LEADER_KEY)


@pytest.mark.django_db(transaction=True)
def test_run_forever_evaluates_only_while_leading(monkeypatch):
    client = redis.Redis.from_url(REDIS_URL)
    client.set(evaluator.LEADER_KEY, "someone-else", px=10_000)
    rounds: list[int] = []

    def counted_round() -> list[alerts.Event]:
        rounds.append(1)
        return []

    monkeypatch.setattr(evaluator, "run_round", counted_round)
    stopping = threading.Event()
    leader = evaluator.leadership(client, interval=0.05)
    thread = threading.Thread(target=evaluator.run_forever, args=(stopping, leader, 0.05))
    thread.start()
    # WHEN another process holds the lock THEN this one does not evaluate
    stopping.wait(0.3)
    assert rounds == []
    # WHEN the lock is free THEN it takes it and evaluates
    client.delete(evaluator.LEADER_KEY)
    stopping.wait(0.3)
    stopping.set()
    thread.join(5)
    assert rounds and client.get(evaluator.LEADER_KEY) is None  # released on the way out
