"""The periodic evaluator: a round over the shipped rules, and one leader at a time."""

import io
import threading
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
    assert evaluator.hold_leadership(client, "host-a:1", interval=1)
    # THEN only the first leads, and keeps leading
    assert not evaluator.hold_leadership(client, "host-b:2", interval=1)
    assert evaluator.hold_leadership(client, "host-a:1", interval=1)
    # WHEN the leader stops cleanly THEN the other takes over at once
    evaluator.release_leadership(client, "host-a:1")
    assert evaluator.hold_leadership(client, "host-b:2", interval=1)
    # AND when a leader dies, its lock runs out after three intervals
    assert 0 < client.pttl(evaluator.LEADER_KEY) <= 3000
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
    thread = threading.Thread(target=evaluator.run_forever, args=(stopping, "me:1", client, 0.05))
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
