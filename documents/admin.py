from collections.abc import Callable

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from documents.models import Document, Page
from processing import services as processing_services


class PageInline(admin.TabularInline):
    model = Page
    fields = ("number", "status", "source", "mean_confidence", "done_at")
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = True


@admin.register(Document)
class DocumentAdmin(admin.ModelAdmin):
    list_display = ("original_name", "owner", "status", "pages_done", "page_count", "created_at")
    list_filter = ("status", "mime_type", "ocr_mode")
    search_fields = ("original_name", "sha256", "owner__username", "id")
    readonly_fields = ("id", "sha256", "size_bytes", "mime_type", "created_at", "started_at", "finished_at", "timings")
    inlines = [PageInline]
    actions = ["cancel_documents", "retry_documents", "move_to_priority", "move_to_standard", "move_to_bulk"]

    @admin.action(description="Cancel the selected documents")
    def cancel_documents(self, request: HttpRequest, queryset: QuerySet[Document]) -> None:
        self._change_status(request, queryset, processing_services.cancel, "Cancelled")

    @admin.action(description="Retry the selected failed or cancelled documents")
    def retry_documents(self, request: HttpRequest, queryset: QuerySet[Document]) -> None:
        self._change_status(request, queryset, processing_services.retry, "Retried")

    @admin.action(description="Move to the priority lane")
    def move_to_priority(self, request: HttpRequest, queryset: QuerySet[Document]) -> None:
        self._move(request, queryset, "priority")

    @admin.action(description="Move to the standard lane")
    def move_to_standard(self, request: HttpRequest, queryset: QuerySet[Document]) -> None:
        self._move(request, queryset, "standard")

    @admin.action(description="Move to the bulk lane")
    def move_to_bulk(self, request: HttpRequest, queryset: QuerySet[Document]) -> None:
        self._move(request, queryset, "bulk")

    def _move(self, request: HttpRequest, queryset: QuerySet[Document], lane: str) -> None:
        moved = 0
        for document in queryset.exclude(status__in=Document.FINISHED):
            previous = processing_services.change_lane(document.id, lane)
            self.log_change(request, document, f"Moved from the {previous} lane to the {lane} lane from the admin.")
            moved += 1
        self.message_user(request, f"Moved {moved} unfinished document(s) to the {lane} lane.", messages.SUCCESS)

    def _change_status(
        self, request: HttpRequest, queryset: QuerySet[Document], change: Callable[..., Document], verb: str
    ) -> None:
        changed = 0
        for document in queryset:
            try:
                change(document.id, request.user)
            except processing_services.StatusConflict as conflict:
                self.message_user(request, f"{document}: {conflict.message}", messages.WARNING)
                continue
            # The admin log is the audit trail of who stopped or restarted whose document, and when.
            self.log_change(request, document, f"{verb} from the admin (was {document.get_status_display().lower()}).")
            changed += 1
        if changed:
            self.message_user(request, f"{verb} {changed} document(s).", messages.SUCCESS)


@admin.register(Page)
class PageAdmin(admin.ModelAdmin):
    list_display = ("document", "number", "status", "source", "mean_confidence")
    list_filter = ("status", "source")
    search_fields = ("document__original_name", "text")
    raw_id_fields = ("document",)
