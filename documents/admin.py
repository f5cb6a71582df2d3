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
    actions = ["cancel_documents", "retry_documents"]

    @admin.action(description="Cancel the selected documents")
    def cancel_documents(self, request: HttpRequest, queryset: QuerySet[Document]) -> None:
        self._change_status(request, queryset, processing_services.cancel, "Cancelled")

    @admin.action(description="Retry the selected failed or cancelled documents")
    def retry_documents(self, request: HttpRequest, queryset: QuerySet[Document]) -> None:
        self._change_status(request, queryset, processing_services.retry, "Retried")

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
