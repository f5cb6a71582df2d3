"""Admin for operators: alert rules (editable), alerts (acknowledge), the audit log.

Documents, jobs, attempts, pages and workers are registered by their own apps. Text that came from
uploads or workers is shown through the admin's escaping, never marked safe.
"""

from typing import TYPE_CHECKING

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from dashboard.models import Alert, AlertRule, AuditLog
from dashboard.services import operations

if TYPE_CHECKING:
    AlertRuleAdminBase = admin.ModelAdmin[AlertRule]
    AlertAdminBase = admin.ModelAdmin[Alert]
    AuditLogAdminBase = admin.ModelAdmin[AuditLog]
else:  # ModelAdmin cannot be subscripted at run time (without django_stubs_ext.monkeypatch())
    AlertRuleAdminBase = AlertAdminBase = AuditLogAdminBase = admin.ModelAdmin


@admin.register(AlertRule)
class AlertRuleAdmin(AlertRuleAdminBase):
    list_display = (
        "key", "name", "kind", "queue", "warning_threshold", "critical_threshold",
        "duration_seconds", "resolve_after_seconds", "enabled",
    )  # fmt: skip
    list_editable = ("warning_threshold", "critical_threshold", "duration_seconds", "enabled")
    list_filter = ("kind", "enabled")
    search_fields = ("key", "name", "queue")


@admin.register(Alert)
class AlertAdmin(AlertAdminBase):
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

    def has_acknowledge_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("dashboard.acknowledge_alert")

    @admin.action(description="Acknowledge the selected alerts", permissions=["acknowledge"])
    def acknowledge(self, request: HttpRequest, queryset: QuerySet[Alert]) -> None:
        done = sum(operations.acknowledge_alert(a.id, request.user, source=operations.ADMIN) for a in queryset)
        skipped = queryset.count() - done
        self.message_user(
            request, f"Acknowledged {done} alert(s); {skipped} resolved or acknowledged already.", messages.SUCCESS
        )


@admin.register(AuditLog)
class AuditLogAdmin(AuditLogAdminBase):
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
