"""The record of reads in the admin: to read, never to add, change or delete; and a mixin that
records the admin's own reads of a document's content (its change views)."""

from typing import TYPE_CHECKING, Any

from django.contrib import admin
from django.db import models
from django.http import HttpRequest, HttpResponse

from access import records
from access.models import DocumentRead

if TYPE_CHECKING:
    DocumentReadAdminBase = admin.ModelAdmin[DocumentRead]
else:
    DocumentReadAdminBase = admin.ModelAdmin


@admin.register(DocumentRead)
class DocumentReadAdmin(DocumentReadAdminBase):
    list_display = ("at", "reader_name", "address", "door", "document_id", "owner_id")
    list_filter = ("door",)
    search_fields = ("reader_name", "=document_id", "=address")
    date_hierarchy = "at"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: DocumentRead | None = None) -> bool:
        return False  # a record of what happened: read it, never rewrite it

    def has_delete_permission(self, request: HttpRequest, obj: DocumentRead | None = None) -> bool:
        return False  # retention (EXORA_ACCESS_LOG_DAYS) is the only deletion


class RecordsContentReads:
    """For a ModelAdmin whose pages show a document's content or name: each change view is
    recorded, and each document a list shows (once per few minutes). `read_document_of(obj)`
    says which document an object is part of."""

    def read_document_of(self, obj: Any) -> Any:
        return obj

    def changelist_view(self, request: HttpRequest, extra_context: dict[str, Any] | None = None) -> HttpResponse:
        response: HttpResponse = super().changelist_view(request, extra_context)  # type: ignore[misc]
        changelist = (getattr(response, "context_data", None) or {}).get("cl")
        if changelist is not None and response.status_code == 200:
            shown = [self.read_document_of(obj) for obj in changelist.result_list]
            address = records.address_of(request.META)
            records.record(request.user, records.Door.ADMIN, shown, address, once_per_window=True)
        return response

    def change_view(
        self, request: HttpRequest, object_id: str, form_url: str = "", extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        response: HttpResponse = super().change_view(request, object_id, form_url, extra_context)  # type: ignore[misc]
        shown = getattr(response, "context_data", None) or {}
        obj = shown.get("original")
        if isinstance(obj, models.Model) and response.status_code == 200:
            document = self.read_document_of(obj)
            records.record(request.user, records.Door.ADMIN, [document], records.address_of(request.META))
        return response
