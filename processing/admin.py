from django.contrib import admin
from django.db.models import Count, QuerySet
from django.http import HttpRequest
from django.utils.html import format_html_join

from access.admin import RecordsContentReads
from processing.heartbeat import liveness
from processing.identity import database_now
from processing.models import Attempt, Job, Page, WorkerProcess

ATTEMPT_FIELDS = (
    "stage", "page_number", "worker", "started_at", "finished_at", "outcome", "error_class", "message",
)  # fmt: skip


class AttemptInline(admin.TabularInline[Attempt, Job]):
    model = Attempt
    fields = ATTEMPT_FIELDS
    readonly_fields = ATTEMPT_FIELDS
    extra = 0
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request: HttpRequest, obj: Job | None = None) -> bool:
        return False  # attempts are written by the workers only


@admin.register(Job)
class JobAdmin(RecordsContentReads, admin.ModelAdmin[Job]):
    list_display = ("document", "enqueued_at", "started_at", "finished_at", "attempt_count")
    search_fields = ("document__original_name", "document__id")
    raw_id_fields = ("document",)
    inlines = [AttemptInline]

    def read_document_of(self, job: Job) -> object:
        return job.document  # its error and attempts' messages

    def get_queryset(self, request: HttpRequest) -> QuerySet[Job]:
        counted: QuerySet[Job] = super().get_queryset(request).annotate(attempt_count=Count("attempts"))
        return counted

    @admin.display(description="attempts", ordering="attempt_count")
    def attempt_count(self, job: Job) -> int:
        return int(getattr(job, "attempt_count", 0))  # annotated by get_queryset


@admin.register(Attempt)
class AttemptAdmin(RecordsContentReads, admin.ModelAdmin[Attempt]):
    list_display = ("job", "stage", "page_number", "outcome", "error_class", "worker", "started_at", "finished_at")
    list_filter = ("outcome", "stage", "error_class")
    search_fields = ("job__document__id", "job__document__original_name", "worker", "error_class", "message")
    readonly_fields = ("job", *ATTEMPT_FIELDS)
    list_select_related = ("job__document",)  # each row's document is recorded as read
    date_hierarchy = "started_at"

    def read_document_of(self, attempt: Attempt) -> object:
        return attempt.job.document  # its error message

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # attempts are written by the workers only

    def has_change_permission(self, request: HttpRequest, obj: Attempt | None = None) -> bool:
        return False  # a record of what happened: read it, do not rewrite it


@admin.register(Page)
class PageAdmin(RecordsContentReads, admin.ModelAdmin[Page]):
    list_display = ("document", "number", "status", "source", "mean_confidence")
    list_filter = ("status", "source")
    # Not the pages' text: a search through every person's records would read them all, unrecorded.
    search_fields = ("document__id",)
    raw_id_fields = ("document",)

    def read_document_of(self, page: Page) -> object:
        return page.document


@admin.register(WorkerProcess)
class WorkerProcessAdmin(admin.ModelAdmin[WorkerProcess]):
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
        return liveness(worker, database_now())

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
