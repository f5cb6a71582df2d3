from django.contrib import admin
from django.db.models import Count, QuerySet
from django.http import HttpRequest

from processing.models import Attempt, Job

ATTEMPT_FIELDS = (
    "stage", "page_number", "worker", "started_at", "finished_at", "outcome", "error_class", "message",
)  # fmt: skip


class AttemptInline(admin.TabularInline):
    model = Attempt
    fields = ATTEMPT_FIELDS
    readonly_fields = ATTEMPT_FIELDS
    extra = 0
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request: HttpRequest, obj: Job | None = None) -> bool:
        return False  # attempts are written by the workers only


@admin.register(Job)
class JobAdmin(admin.ModelAdmin):
    list_display = ("document", "enqueued_at", "started_at", "finished_at", "attempt_count")
    search_fields = ("document__original_name", "document__id")
    raw_id_fields = ("document",)
    inlines = [AttemptInline]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Job]:
        return super().get_queryset(request).annotate(attempt_count=Count("attempts"))

    @admin.display(description="attempts", ordering="attempt_count")
    def attempt_count(self, job: Job) -> int:
        return job.attempt_count


@admin.register(Attempt)
class AttemptAdmin(admin.ModelAdmin):
    list_display = ("job", "stage", "page_number", "outcome", "error_class", "worker", "started_at", "finished_at")
    list_filter = ("outcome", "stage", "error_class")
    search_fields = ("job__document__id", "job__document__original_name", "worker", "error_class", "message")
    readonly_fields = ("job", *ATTEMPT_FIELDS)
    list_select_related = ("job",)
    date_hierarchy = "started_at"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # attempts are written by the workers only

    def has_change_permission(self, request: HttpRequest, obj: Attempt | None = None) -> bool:
        return False  # a record of what happened: read it, do not rewrite it
