"""Telling people about alerts: by e-mail (Django's mail) and by a webhook (a JSON POST).

Both are optional (EXORA_ALERT_EMAILS, EXORA_ALERT_WEBHOOK_URL) and can be turned off per
rule. A failed delivery is logged and recorded on the alert, never raised: one broken
channel must not stop the evaluator or the other channel.
"""

import json
import logging
import urllib.error
import urllib.parse
import urllib.request
from datetime import datetime
from typing import TypedDict

from django.conf import settings
from django.core.mail import send_mail
from django.utils import timezone

from dashboard.models import Alert

logger = logging.getLogger(__name__)

WEBHOOK_TIMEOUT_SECONDS = 5


class Notice(TypedDict):
    event: str  # alerts.RAISED, ESCALATED or RESOLVED
    rule: str
    name: str
    kind: str
    subject: str
    severity: str
    state: str
    value: float
    peak_value: float
    warning_threshold: float | None
    critical_threshold: float | None
    started_at: str | None
    raised_at: str | None
    resolved_at: str | None


def payload(alert: Alert, event: str) -> Notice:
    """The webhook's JSON body; also what the e-mail says."""
    return {
        "event": event,
        "rule": alert.rule.key,
        "name": alert.rule.name,
        "kind": alert.rule.kind,
        "subject": alert.subject,
        "severity": alert.severity,
        "state": alert.state,
        "value": alert.value,
        "peak_value": alert.peak_value,
        "warning_threshold": alert.rule.warning_threshold,
        "critical_threshold": alert.rule.critical_threshold,
        "started_at": _iso(alert.started_at),
        "raised_at": _iso(alert.raised_at),
        "resolved_at": _iso(alert.resolved_at),
    }


def send(alert: Alert, event: str) -> None:
    body = payload(alert, event)
    results = []
    if settings.EXORA_ALERT_EMAILS and alert.rule.notify_email:
        results.append(["email", _email(body)])
    if settings.EXORA_ALERT_WEBHOOK_URL and alert.rule.notify_webhook:
        results.append(["webhook", _webhook(settings.EXORA_ALERT_WEBHOOK_URL, body)])
    if results:
        now = timezone.now().isoformat()
        alert.notified = [*alert.notified, *([event, channel, ok, now] for channel, ok in results)][-50:]
        alert.save(update_fields=["notified"])


def _email(body: Notice) -> bool:
    about = f" ({body['subject']})" if body["subject"] else ""
    subject = f"[Exora {body['severity']}] {body['event']}: {body['name']}{about}"
    lines = [f"{key}: {value}" for key, value in body.items()]
    try:
        send_mail(subject, "\n".join(lines), None, settings.EXORA_ALERT_EMAILS, fail_silently=False)
    except Exception:
        logger.exception("alert e-mail failed: %s", subject)
        return False
    return True


def _webhook(url: str, body: Notice) -> bool:
    if urllib.parse.urlsplit(url).scheme not in ("http", "https"):
        logger.error("alert webhook URL must be http(s), not %r", url)
        return False
    request = urllib.request.Request(  # noqa: S310 (the scheme is checked above)
        url,
        data=json.dumps(body).encode(),
        method="POST",
        headers={"Content-Type": "application/json", "User-Agent": "exora-alerts"},
    )
    try:
        with urllib.request.urlopen(request, timeout=WEBHOOK_TIMEOUT_SECONDS) as response:  # noqa: S310
            status: int = response.status  # urlopen() is typed as returning Any
            return 200 <= status < 300
    except (urllib.error.URLError, OSError, ValueError):
        logger.exception("alert webhook to %s failed", url)
        return False


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None
