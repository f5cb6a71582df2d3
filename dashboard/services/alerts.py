"""The alert state machine: raise once, hold, escalate, resolve by itself, acknowledge.

Per rule and subject, each round:
    condition holds, no open alert      -> a PENDING alert (nobody told yet)
    holds for the rule's duration       -> FIRING: notified once ("raised")
    holds at a higher severity          -> severity goes up, notified ("escalated")
    clears while PENDING                -> the pending alert is deleted (it never fired)
    clears while FIRING                 -> noted; RESOLVED, notified, once it has stayed clear
                                           for `resolve_after_seconds` (no flapping: a value
                                           dipping under the line and back is one alert)
Time is passed in (`now`), never read here, so tests drive a controlled clock.
"""

import logging
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime

from django.contrib.auth.models import AnonymousUser, User
from django.db import IntegrityError, transaction
from django.utils import timezone

from dashboard.models import Alert, AlertRule
from dashboard.selectors.conditions import Context, Observations, measure

logger = logging.getLogger(__name__)

RAISED, ESCALATED, RESOLVED = "raised", "escalated", "resolved"
_RANK: dict[str, int] = {Alert.Severity.WARNING: 1, Alert.Severity.CRITICAL: 2}


@dataclass
class Event:
    """A change worth telling people about; sent after the state is committed."""

    alert_id: int
    kind: str


def apply(rule: AlertRule, observations: Observations, now: datetime) -> list[Event]:
    """Move the rule's alerts to the state `observations` call for; returns what to notify."""
    events: list[Event] = []
    with transaction.atomic():
        open_alerts = {a.subject: a for a in rule.alerts.select_for_update().filter(state__in=Alert.OPEN)}
        for subject, value in observations.items():
            severity = rule.severity_for(value) if rule.enabled else None
            if severity is None:
                continue
            alert = open_alerts.pop(subject, None)
            if alert is None:
                alert = _open(rule, subject, value, severity, now)
                if alert is None:
                    continue  # another evaluator opened it in the meantime: it is theirs this round
            events += _holds(rule, alert, value, severity, now)
        for alert in open_alerts.values():  # clear, or the subject is gone
            events += _clears(rule, alert, observations.get(alert.subject, 0.0), now)
    return events


def _open(rule: AlertRule, subject: str, value: float, severity: str, now: datetime) -> Alert | None:
    try:
        with transaction.atomic():  # a savepoint: a lost race must not break the outer transaction
            return Alert.objects.create(
                rule=rule, subject=subject, value=value, peak_value=value, severity=severity, started_at=now
            )
    except IntegrityError:
        return None


def _holds(rule: AlertRule, alert: Alert, value: float, severity: str, now: datetime) -> list[Event]:
    events: list[Event] = []
    alert.value = value
    alert.peak_value = max(alert.peak_value, value)
    alert.cleared_since = None
    escalates = _RANK[severity] > _RANK[alert.severity]
    if escalates:
        alert.severity = severity
    if alert.state == Alert.State.PENDING and (now - alert.started_at).total_seconds() >= rule.duration_seconds:
        alert.state = Alert.State.FIRING
        alert.raised_at = now
        events.append(Event(alert.id, RAISED))
    elif alert.state == Alert.State.FIRING and escalates:
        # An acknowledged warning does not cover a critical: it needs a fresh look.
        alert.acknowledged_at = None
        alert.acknowledged_by = None
        events.append(Event(alert.id, ESCALATED))
    alert.save()
    return events


def _clears(rule: AlertRule, alert: Alert, value: float, now: datetime) -> list[Event]:
    if alert.state == Alert.State.PENDING:
        alert.delete()
        return []
    alert.value = value
    if alert.cleared_since is None:
        alert.cleared_since = now
    if not rule.enabled or (now - alert.cleared_since).total_seconds() >= rule.resolve_after_seconds:
        alert.state = Alert.State.RESOLVED
        alert.resolved_at = now
        alert.save()
        return [Event(alert.id, RESOLVED)] if rule.enabled else []
    alert.save()
    return []


def evaluate(
    context: Context, now: datetime, *, kinds: Collection[str] | None = None, exclude: Collection[str] = frozenset()
) -> list[Event]:
    """Evaluate every rule (or those of `kinds`); a rule that fails to measure is skipped."""
    events: list[Event] = []
    rules = AlertRule.objects.all()
    if kinds is not None:
        rules = rules.filter(kind__in=kinds)
    for rule in rules.exclude(kind__in=exclude):
        try:
            observations = measure(rule, context, now) if rule.enabled else {}
            events += apply(rule, observations, now)
        except Exception:
            logger.exception("alert rule %s could not be evaluated this round", rule.key)
    return events


def notify_all(events: list[Event]) -> None:
    from dashboard.services import notify

    for event in events:
        alert = Alert.objects.select_related("rule").filter(id=event.alert_id).first()
        if alert is not None:
            notify.send(alert, event.kind)


def acknowledge(alert: Alert, user: User | AnonymousUser | None) -> bool:
    """Mark an open alert as seen by `user`; False when it is resolved or already acknowledged."""
    updated = Alert.objects.filter(id=alert.id, state__in=Alert.OPEN, acknowledged_at__isnull=True).update(
        acknowledged_at=timezone.now(), acknowledged_by=user
    )
    return bool(updated)
