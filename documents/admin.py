from django.contrib import admin

from documents.models import Document, Page


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


@admin.register(Page)
class PageAdmin(admin.ModelAdmin):
    list_display = ("document", "number", "status", "source", "mean_confidence")
    list_filter = ("status", "source")
    search_fields = ("document__original_name", "text")
    raw_id_fields = ("document",)
