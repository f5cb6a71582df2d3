from collections.abc import Callable

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from knox.models import AuthToken

from access.admin import RecordsContentReads
from documents import lifecycle
from documents.models import Document
from processing.api import LANES, Page


def _move_to_lane_action(lane: str) -> Callable[["DocumentAdmin", HttpRequest, QuerySet[Document]], None]:
    """The admin action "move to the <lane> lane", one per row of the lanes table."""

    def move(modeladmin: "DocumentAdmin", request: HttpRequest, queryset: QuerySet[Document]) -> None:
        modeladmin._move(request, queryset, lane)

    move.__name__ = f"move_to_{lane}"
    return admin.action(description=f"Move to the {lane} lane", permissions=["change"])(move)


class PageInline(admin.TabularInline[Page, Document]):
    model = Page
    fields = ("number", "status", "source", "mean_confidence", "done_at")
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = True


@admin.register(Document)
class DocumentAdmin(RecordsContentReads, admin.ModelAdmin[Document]):
    list_display = ("original_name", "owner", "status", "pages_done", "page_count", "created_at")
    list_filter = ("status", "mime_type", "ocr_mode")
    search_fields = ("original_name", "sha256", "owner__username", "id")
    # Whose a document is, and where it stands, change only through its owner and the lifecycle.
    readonly_fields = (
        "id", "owner", "status", "sha256", "size_bytes", "mime_type", "created_at", "started_at",
        "finished_at", "timings",
    )  # fmt: skip
    inlines = [PageInline]
    actions = ["cancel_documents", "retry_documents", *(_move_to_lane_action(lane.name) for lane in LANES)]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # documents come in through an upload, checked

    def has_cancel_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("documents.cancel_document")

    def has_retry_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("documents.retry_document")

    @admin.action(description="Cancel the selected documents", permissions=["cancel"])
    def cancel_documents(self, request: HttpRequest, queryset: QuerySet[Document]) -> None:
        self._change_status(request, queryset, lifecycle.document_cancel, "Cancelled")

    @admin.action(description="Retry the selected failed or cancelled documents", permissions=["retry"])
    def retry_documents(self, request: HttpRequest, queryset: QuerySet[Document]) -> None:
        self._change_status(request, queryset, lifecycle.document_retry, "Retried")

    def delete_model(self, request: HttpRequest, obj: Document) -> None:
        lifecycle.document_delete(obj.id, request.user)  # rows, then every file of it

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Document]) -> None:
        for document in queryset:
            lifecycle.document_delete(document.id, request.user)

    def _move(self, request: HttpRequest, queryset: QuerySet[Document], lane: str) -> None:
        moved = 0
        for document in queryset.exclude(status__in=Document.FINISHED):
            previous = lifecycle.document_change_lane(document.id, lane)
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
            except lifecycle.StatusConflict as conflict:
                self.message_user(request, f"{document}: {conflict.message}", messages.WARNING)
                continue
            # The admin log is the audit trail of who stopped or restarted whose document, and when.
            self.log_change(request, document, f"{verb} from the admin (was {document.get_status_display().lower()}).")
            changed += 1
        if changed:
            self.message_user(request, f"{verb} {changed} document(s).", messages.SUCCESS)


# API tokens: django-rest-knox's own admin lists each token's digest and puts a new token's key in
# a message; here an operator sees whose tokens exist and revokes them, and never sees a key.
admin.site.unregister(AuthToken)


@admin.register(AuthToken)
class ApiTokenAdmin(admin.ModelAdmin[AuthToken]):
    list_display = ("user", "created", "expiry")
    fields = ("user", "created", "expiry")
    readonly_fields = fields
    search_fields = ("user__username",)
    list_select_related = ("user",)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # made by their owner (/tokens/) or `manage.py create_api_token`, shown once

    def has_change_permission(self, request: HttpRequest, obj: AuthToken | None = None) -> bool:
        return False
