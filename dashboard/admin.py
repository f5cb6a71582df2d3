"""Admin for operators: alert rules (editable), alerts (acknowledge), workers, the audit log.

Documents, jobs, attempts and pages are registered by their own apps. Text that came from
uploads or workers is shown through the admin's escaping, never marked safe.
"""

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import timezone
from django.utils.html import format_html_join

from dashboard.models import Alert, AlertRule, AuditLog, WorkerProcess
from dashboard.selectors.workers import liveness
from dashboard.services import operations


@admin.register(AlertRule)
class AlertRuleAdmin(admin.ModelAdmin):
    list_display = (
        "key", "name", "kind", "queue", "warning_threshold", "critical_threshold",
        "duration_seconds", "resolve_after_seconds", "enabled",
    )  # fmt: skip
    list_editable = ("warning_threshold", "critical_threshold", "duration_seconds", "enabled")
    list_filter = ("kind", "enabled")
    search_fields = ("key", "name", "queue")


@admin.register(Alert)
class AlertAdmin(admin.ModelAdmin):
    list_display = (
        "rule",
        "subject",
        "state",
        "severity",
        "value",
        "peak_value",
        "started_at",
        "resolved_at",
        "acknowledged_by",
    )
    list_filter = ("state", "severity", "rule__kind", "rule")
    search_fields = ("rule__name", "rule__key", "subject")
    date_hierarchy = "started_at"
    list_select_related = ("rule", "acknowledged_by")
    actions = ["acknowledge"]
    readonly_fields = [f.name for f in Alert._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # alerts are raised by the evaluator only

    @admin.action(description="Acknowledge the selected alerts")
    def acknowledge(self, request: HttpRequest, queryset: QuerySet[Alert]) -> None:
        done = sum(operations.acknowledge_alert(a.id, request.user, source=operations.ADMIN) for a in queryset)
        skipped = queryset.count() - done
        self.message_user(
            request, f"Acknowledged {done} alert(s); {skipped} resolved or acknowledged already.", messages.SUCCESS
        )


@admin.register(WorkerProcess)
class WorkerProcessAdmin(admin.ModelAdmin):
    list_display = ("name", "state", "queues", "threads", "rss_mb", "cpu_percent", "started_at", "last_heartbeat")
    list_filter = ("host",)
    search_fields = ("name", "host")
    date_hierarchy = "last_heartbeat"
    readonly_fields = [*(f.name for f in WorkerProcess._meta.fields if f.name != "current"), "working_on"]
    exclude = ("current",)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # workers write their own rows

    def has_change_permission(self, request: HttpRequest, obj: WorkerProcess | None = None) -> bool:
        return False

    @admin.display(description="state")
    def state(self, worker: WorkerProcess) -> str:
        return liveness(worker, timezone.now())

    @admin.display(description="RSS (MB)", ordering="rss_bytes")
    def rss_mb(self, worker: WorkerProcess) -> str:
        return f"{worker.rss_bytes / 1_048_576:.0f}"

    @admin.display(description="working on")
    def working_on(self, worker: WorkerProcess) -> str:
        # format_html_join escapes every value: document ids and actor names come from messages.
        rows = (
            (w.get("actor", ""), w.get("document", ""), w.get("page") or "-", w.get("since", ""))
            for w in worker.current
        )
        return format_html_join("", "<div>{} - document {} page {} since {}</div>", rows) or "-"


@admin.register(AuditLog)
class AuditLogAdmin(admin.ModelAdmin):
    list_display = ("at", "username", "source", "action", "target_type", "target_id", "detail")
    list_filter = ("source", "action", "target_type")
    search_fields = ("username", "action", "target_id", "detail")
    date_hierarchy = "at"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: AuditLog | None = None) -> bool:
        return False  # a record of what happened: read it, do not rewrite it

    def has_delete_permission(self, request: HttpRequest, obj: AuditLog | None = None) -> bool:
        return False
