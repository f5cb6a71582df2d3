"""What the operators' dashboard keeps: the shared snapshot of figures, alert rules and alerts,
and the audit log of operator actions. Worker heartbeats and metric tallies are written by
the workers and live with them (processing.models)."""

from django.conf import settings
from django.db import models
from django.db.models import Q


class DashboardSnapshot(models.Model):
    """Every figure of the dashboard, computed once per refresh interval and shared by every
    viewer, every web process and /metrics; a single row (id 1)."""

    computed_at = models.DateTimeField(null=True, blank=True)
    data = models.JSONField(default=dict, blank=True)
    # Rows finished up to this moment have been added to the MetricTally counters.
    tallied_until = models.DateTimeField(null=True, blank=True)
    alerts_evaluated_at = models.DateTimeField(null=True, blank=True, help_text="The evaluator's last full round.")

    def __str__(self) -> str:
        return f"snapshot at {self.computed_at}"


class AlertRule(models.Model):
    """A condition the evaluator checks every round; the operator edits thresholds and durations.

    Every kind measures a "badness" value per subject (a queue, a worker): the rule fires when
    that value is over a threshold for `duration_seconds`, and resolves once it has been
    under them for `resolve_after_seconds` (so a value hovering at the line does not flap).
    """

    class Kind(models.TextChoices):
        QUEUE_DEPTH = "queue_depth", "Messages ready in a queue"
        WAIT_TIME = "wait_time", "Average wait in seconds (and the oldest waiting job)"
        WORKER_MEMORY = "worker_memory", "Worker memory, % of its limit"
        FAILURE_RATE = "failure_rate", "Failed documents, % of those finished"
        NO_WORKER = "no_worker", "Jobs waiting in a queue no live worker reads"
        STALE_HEARTBEAT = "stale_heartbeat", "Seconds since a worker's last heartbeat"
        DEAD_LETTERS = "dead_letters", "Messages dead-lettered within the window"
        WATCHDOG = "watchdog", "Seconds since the alert evaluator's last round"

    key = models.SlugField(max_length=60, unique=True)
    name = models.CharField(max_length=200)
    kind = models.CharField(max_length=20, choices=Kind.choices)
    queue = models.CharField(max_length=100, blank=True, help_text="Only this queue; blank for every queue.")
    warning_threshold = models.FloatField(null=True, blank=True)
    critical_threshold = models.FloatField(null=True, blank=True)
    duration_seconds = models.PositiveIntegerField(default=0, help_text="How long it must hold before it fires.")
    resolve_after_seconds = models.PositiveIntegerField(default=60, help_text="How long it must be clear to resolve.")
    window_seconds = models.PositiveIntegerField(default=900, help_text="The period a rate or average is taken over.")
    min_count = models.PositiveIntegerField(default=0, help_text="Fewer events than this in the window: no verdict.")
    enabled = models.BooleanField(default=True)
    notify_email = models.BooleanField(default=True)
    notify_webhook = models.BooleanField(default=True)

    class Meta:
        ordering = ["key"]

    def __str__(self) -> str:
        return self.name

    def severity_for(self, value: float) -> str | None:
        """The severity `value` reaches, or None when it is under every threshold."""
        # Strictly over, as the rules are worded: "queue depth over 20", "failure rate over 5%".
        if self.critical_threshold is not None and value > self.critical_threshold:
            return Alert.Severity.CRITICAL
        if self.warning_threshold is not None and value > self.warning_threshold:
            return Alert.Severity.WARNING
        return None


class Alert(models.Model):
    """One occurrence of a rule's condition for one subject, from first seen to resolved.

    PENDING: the condition holds but not yet for the rule's duration (nobody is told; if it
    clears, the row is deleted). FIRING: raised and notified once. RESOLVED: history.
    """

    class State(models.TextChoices):
        PENDING = "pending", "Pending"
        FIRING = "firing", "Firing"
        RESOLVED = "resolved", "Resolved"

    class Severity(models.TextChoices):
        WARNING = "warning", "Warning"
        CRITICAL = "critical", "Critical"

    OPEN = (State.PENDING, State.FIRING)

    rule = models.ForeignKey(AlertRule, on_delete=models.CASCADE, related_name="alerts")
    subject = models.CharField(max_length=200, blank=True, help_text="The queue or worker it is about.")
    state = models.CharField(max_length=10, choices=State.choices, default=State.PENDING, db_index=True)
    severity = models.CharField(max_length=10, choices=Severity.choices, default=Severity.WARNING)
    value = models.FloatField(help_text="The last value measured.")
    peak_value = models.FloatField()
    started_at = models.DateTimeField(help_text="When the condition was first seen.")
    raised_at = models.DateTimeField(null=True, blank=True)
    cleared_since = models.DateTimeField(null=True, blank=True, help_text="Under the thresholds since.")
    resolved_at = models.DateTimeField(null=True, blank=True)
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    notified = models.JSONField(default=list, blank=True, help_text="[[event, channel, ok, when]] per notice.")

    class Meta:
        ordering = ["-started_at"]
        permissions = [("acknowledge_alert", "Can acknowledge an alert")]
        constraints = [
            # Raised once: at most one open alert per rule and subject, even with two evaluators.
            models.UniqueConstraint(
                fields=["rule", "subject"], condition=Q(state__in=["pending", "firing"]), name="one_open_alert"
            ),
        ]

    def __str__(self) -> str:
        about = f" ({self.subject})" if self.subject else ""
        return f"{self.rule}{about}: {self.state}"


class AuditLog(models.Model):
    """Who did what to what, and when: every operator action, from the dashboard or the admin."""

    at = models.DateTimeField(auto_now_add=True, db_index=True)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    # Kept as text too, so the record survives the account being deleted.
    username = models.CharField(max_length=150)
    source = models.CharField(max_length=20, help_text='"dashboard" or "admin".')
    action = models.CharField(max_length=100)
    target_type = models.CharField(max_length=100, blank=True)
    target_id = models.CharField(max_length=100, blank=True)
    detail = models.TextField(blank=True)

    class Meta:
        ordering = ["-at"]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M:%S} {self.username} {self.action} {self.target_type} {self.target_id}"
