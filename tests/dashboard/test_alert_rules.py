"""Alert rules evaluated with a controlled clock: raise, hold, escalate, resolve, acknowledge,
and no flapping. Notifications go to Django's test mailbox and a webhook on 127.0.0.1."""

import json
import threading
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any

import pytest
from django.core import mail
from django.test import override_settings
from django.utils import timezone

from dashboard.models import Alert, AlertRule
from dashboard.selectors.conditions import Context, measure
from dashboard.services import alerts, operations
from dashboard.services.alerts import ESCALATED, RAISED, RESOLVED
from documents.models import Document
from processing.models import Page, WorkerProcess
from tests.dashboard.conftest import make_document

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("default_rules")]

T0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


@pytest.fixture
def depth_rule() -> AlertRule:
    """Like the shipped rule, with short times: over 20 for 60 s, clear for 30 s to resolve."""
    return AlertRule.objects.create(
        key="test-depth",
        name="Queue depth",
        kind=AlertRule.Kind.QUEUE_DEPTH,
        warning_threshold=20,
        critical_threshold=100,
        duration_seconds=60,
        resolve_after_seconds=30,
    )


def step(rule: AlertRule, seconds: float, **values: float) -> list[str]:
    """One round at T0 + seconds with these values per subject; the events it produced."""
    events = alerts.apply(rule, values, at(seconds))
    alerts.notify_all(events)
    return [e.kind for e in events]


def open_alert(rule: AlertRule) -> Alert:
    """The rule's open alert; there must be one."""
    alert = rule.alerts.filter(state__in=Alert.OPEN).first()
    assert alert is not None, f"no open alert for {rule.key}"
    return alert


@override_settings(EXORA_ALERT_EMAILS=["ops@example.org"])
def test_an_alert_is_raised_once_after_its_duration_and_held_without_repeating(depth_rule):
    # GIVEN a depth of 25 on "pages" (over 20) WHEN it is first seen
    assert step(depth_rule, 0, pages=25) == []
    # THEN the alert is pending, and nobody is told yet
    assert open_alert(depth_rule).state == Alert.State.PENDING
    assert mail.outbox == []

    # WHEN it still holds 59 s later THEN still pending
    assert step(depth_rule, 59, pages=30) == []
    # WHEN it has held for the rule's 60 s THEN it fires, once, with one e-mail
    assert step(depth_rule, 60, pages=28) == [RAISED]
    alert = open_alert(depth_rule)
    assert (alert.state, alert.severity, alert.raised_at) == (Alert.State.FIRING, "warning", at(60))
    assert len(mail.outbox) == 1 and "raised: Queue depth (pages)" in mail.outbox[0].subject

    # WHEN it keeps holding for an hour THEN nothing more is sent, and the peak is kept
    for minute in range(2, 60):
        assert step(depth_rule, minute * 60, pages=40 if minute == 30 else 25) == []
    assert Alert.objects.count() == 1 and len(mail.outbox) == 1
    assert open_alert(depth_rule).peak_value == 40


def test_a_condition_that_clears_before_its_duration_never_fires(depth_rule):
    # GIVEN a depth over the threshold for 30 s only (the rule wants 60 s)
    step(depth_rule, 0, pages=25)
    step(depth_rule, 30, pages=25)
    # WHEN it drops THEN the pending alert goes away without a trace or a notice
    assert step(depth_rule, 45, pages=3) == []
    assert Alert.objects.count() == 0
    # AND a new rise starts the duration again from zero
    step(depth_rule, 50, pages=25)
    assert step(depth_rule, 100, pages=25) == []
    assert step(depth_rule, 110, pages=25) == [RAISED]


def test_it_resolves_by_itself_once_clear_for_long_enough_and_keeps_its_history(depth_rule):
    # GIVEN a firing alert
    step(depth_rule, 0, pages=25)
    assert step(depth_rule, 60, pages=25) == [RAISED]
    # WHEN the depth drops THEN it is not resolved before 30 s of calm
    assert step(depth_rule, 70, pages=5) == []
    assert step(depth_rule, 99, pages=5) == []
    # AND it is resolved, once, after 30 s
    assert step(depth_rule, 100, pages=5) == [RESOLVED]
    assert step(depth_rule, 130, pages=5) == []
    resolved = Alert.objects.get()
    assert (resolved.state, resolved.resolved_at, resolved.raised_at) == (Alert.State.RESOLVED, at(100), at(60))
    # AND a new rise is a new alert; the old one stays as history
    step(depth_rule, 200, pages=30)
    assert step(depth_rule, 260, pages=30) == [RAISED]
    assert list(Alert.objects.order_by("started_at").values_list("state", flat=True)) == ["resolved", "firing"]


def test_no_flapping_a_value_dipping_under_the_line_and_back_is_one_alert(depth_rule):
    # GIVEN a firing alert, and a depth hovering around 20 afterwards
    step(depth_rule, 0, pages=25)
    assert step(depth_rule, 60, pages=25) == [RAISED]
    events = []
    for i, depth in enumerate([19, 21, 18, 22, 20, 25, 17, 23]):
        events += step(depth_rule, 70 + i * 10, pages=depth)
    # THEN no dip lasted 30 s: no resolve, no second raise, one alert all along
    assert events == []
    assert Alert.objects.count() == 1 and open_alert(depth_rule).state == Alert.State.FIRING


def test_it_escalates_to_critical_once_and_asks_for_a_fresh_acknowledgement(depth_rule, operator):
    # GIVEN a firing warning that an operator acknowledged
    step(depth_rule, 0, pages=25)
    step(depth_rule, 60, pages=25)
    alert = open_alert(depth_rule)
    assert operations.acknowledge_alert(alert.id, operator)
    # WHEN the depth passes the critical threshold
    assert step(depth_rule, 70, pages=150) == [ESCALATED]
    # THEN it is critical, not acknowledged any more, and it is said once only
    alert.refresh_from_db()
    assert (alert.severity, alert.acknowledged_at) == ("critical", None)
    assert step(depth_rule, 80, pages=160) == []


def test_acknowledging_is_recorded_once_and_does_not_silence_the_resolution(depth_rule, operator):
    step(depth_rule, 0, pages=25)
    step(depth_rule, 60, pages=25)
    alert = open_alert(depth_rule)
    # WHEN an operator acknowledges it twice
    first = operations.acknowledge_alert(alert.id, operator)
    second = operations.acknowledge_alert(alert.id, operator)
    # THEN the first counts, the second says it was done already; the audit log has one entry
    assert (first, second) == (True, False)
    alert.refresh_from_db()
    assert alert.acknowledged_by == operator and alert.acknowledged_at is not None
    from dashboard.models import AuditLog

    assert list(AuditLog.objects.values_list("username", "action", "target_id")) == [
        ("olga", "acknowledge alert", str(alert.id))
    ]
    # AND it still resolves by itself when the condition clears
    step(depth_rule, 100, pages=1)
    assert step(depth_rule, 130, pages=1) == [RESOLVED]


def test_two_subjects_are_two_alerts_and_a_vanished_subject_clears(depth_rule):
    step(depth_rule, 0, pages=25, documents=30)
    assert sorted(step(depth_rule, 60, pages=25, documents=30)) == [RAISED, RAISED]
    # WHEN the "documents" queue is no longer reported at all THEN its alert clears like any other
    step(depth_rule, 70, pages=25)
    assert step(depth_rule, 100, pages=25) == [RESOLVED]
    assert open_alert(depth_rule).subject == "pages"


def test_a_disabled_rule_resolves_its_alerts_silently(depth_rule):
    step(depth_rule, 0, pages=25)
    step(depth_rule, 60, pages=25)
    depth_rule.enabled = False
    depth_rule.save()
    assert alerts.evaluate(Context(data={}), at(70), kinds={AlertRule.Kind.QUEUE_DEPTH}) == []
    assert Alert.objects.get().state == Alert.State.RESOLVED


def test_the_failure_rate_needs_enough_documents_to_judge(user):
    # GIVEN the shipped rule: over 5% in the past hour, with at least 20 documents
    rule = AlertRule.objects.get(key="failure-rate")
    now = datetime.now(UTC)
    make_document(user, status=Document.Status.FAILED, created=now - timedelta(minutes=10))
    make_document(user, created=now - timedelta(minutes=10))
    # WHEN one document in two failed THEN no verdict: nobody is paged
    assert alerts.evaluate(Context(data={}), now, kinds={AlertRule.Kind.FAILURE_RATE}) == []
    # WHEN 24 documents finished and 2 failed (8%) THEN it fires at once
    for _ in range(21):
        make_document(user, created=now - timedelta(minutes=10))
    make_document(user, status=Document.Status.FAILED, created=now - timedelta(minutes=10))
    events = alerts.evaluate(Context(data={}), now, kinds={AlertRule.Kind.FAILURE_RATE})
    assert [e.kind for e in events] == [RAISED]
    assert rule.alerts.get().value == pytest.approx(8.33, abs=0.01)


def test_the_watchdog_fires_when_the_evaluator_stops_and_clears_when_it_runs():
    # GIVEN the shipped watchdog: the evaluator's last round over 120 s ago
    evaluated = T0
    # WHEN it is checked 60 s, then 200 s after the last round
    quiet = alerts.evaluate(Context(data={}, evaluated_at=evaluated), at(60), kinds={"watchdog"})
    late = alerts.evaluate(Context(data={}, evaluated_at=evaluated), at(200), kinds={"watchdog"})
    # THEN it fires the second time, about the evaluator
    assert quiet == [] and [e.kind for e in late] == [RAISED]
    assert Alert.objects.get().subject == "alert evaluator"
    # AND a completed round resolves it at once
    back = alerts.evaluate(Context(data={}, evaluated_at=at(210)), at(210), kinds={"watchdog"})
    assert [e.kind for e in back] == [RESOLVED]


class _Hook(BaseHTTPRequestHandler):
    received: list[tuple[str, Any]] = []  # (Content-Type, JSON body) per POST

    def do_POST(self) -> None:
        length = int(self.headers["Content-Length"])
        _Hook.received.append((self.headers["Content-Type"], json.loads(self.rfile.read(length))))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args) -> None:  # keep the test output clean
        pass


@pytest.fixture
def webhook_server():
    server = HTTPServer(("127.0.0.1", 0), _Hook)
    _Hook.received = []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/hook", _Hook.received
    server.shutdown()
    server.server_close()


def test_notifications_go_to_the_webhook_as_json_and_are_recorded(depth_rule, webhook_server):
    url, received = webhook_server
    with override_settings(EXORA_ALERT_WEBHOOK_URL=url, EXORA_ALERT_EMAILS=[]):
        # GIVEN a webhook WHEN an alert fires and resolves
        step(depth_rule, 0, pages=25)
        step(depth_rule, 60, pages=25)
        step(depth_rule, 70, pages=1)
        step(depth_rule, 100, pages=1)
    # THEN the webhook got two JSON posts, and no e-mail was sent
    assert [body["event"] for _, body in received] == ["raised", "resolved"]
    content_type, raised = received[0]
    assert content_type == "application/json"
    assert {k: raised[k] for k in ("rule", "subject", "severity", "value")} == {
        "rule": "test-depth",
        "subject": "pages",
        "severity": "warning",
        "value": 25.0,
    }
    assert mail.outbox == []
    assert [n[:3] for n in Alert.objects.get().notified] == [["raised", "webhook", True], ["resolved", "webhook", True]]


def test_a_broken_webhook_does_not_stop_the_evaluation_or_the_email(depth_rule):
    with override_settings(
        EXORA_ALERT_WEBHOOK_URL="http://127.0.0.1:9/nowhere", EXORA_ALERT_EMAILS=["ops@example.org"]
    ):
        step(depth_rule, 0, pages=25)
        assert step(depth_rule, 60, pages=25) == [RAISED]
    assert len(mail.outbox) == 1
    notified = {channel: ok for _, channel, ok, _ in Alert.objects.get().notified}
    assert notified == {"email": True, "webhook": False}


def test_a_dead_workers_alert_resolves_once_its_pages_are_back_and_a_replacement_runs(user):
    # GIVEN the shipped stale-heartbeat rule, a worker that went silent holding a page, and one
    # that stopped cleanly (scaled down: it says so)
    rule = AlertRule.objects.get(kind=AlertRule.Kind.STALE_HEARTBEAT)
    now = timezone.now()
    document = make_document(user, status=Document.Status.READING)
    held = Page.objects.filter(document=document, number=1)
    held.update(status=Page.Status.RUNNING, lease_owner="host-a:1.x")
    worker_row("host-a:1.x", now - timedelta(minutes=2))
    worker_row("host-c:3.z", now - timedelta(minutes=2), stopped=True)

    def seen() -> dict[str, float]:
        return measure(rule, Context(data={}), now)

    # WHEN the evaluator looks THEN the dead worker's alert fires; the stopped one raises none
    assert step(rule, 0, **seen()) == [RAISED]
    assert [a.subject for a in rule.alerts.filter(state=Alert.State.FIRING)] == ["host-a:1.x"]
    # WHEN its page is handed back, with no live worker to read its queues THEN it still fires
    held.update(status=Page.Status.PENDING, lease_owner="")
    assert step(rule, 60, **seen()) == []
    assert open_alert(rule).state == Alert.State.FIRING
    # WHEN a replacement runs THEN the condition clears, and the alert resolves in the rule's time
    worker_row("host-b:2.y", now)
    assert seen() == {}
    assert step(rule, 120 + rule.resolve_after_seconds) == [RESOLVED]
    assert not rule.alerts.filter(state__in=Alert.OPEN).exists()


def worker_row(name: str, last_heartbeat: datetime, *, stopped: bool = False) -> WorkerProcess:
    return WorkerProcess.objects.create(
        name=name, host=name.split(":")[0], pid=int(name.split(":")[1].split(".")[0]), queues=["documents", "pages"],
        started_at=last_heartbeat, last_heartbeat=last_heartbeat, stopped_at=last_heartbeat if stopped else None,
    )  # fmt: skip
