from django.contrib import admin

from processing.models import Job


@admin.register(Job)
class JobAdmin(admin.ModelAdmin):
    list_display = ("document", "enqueued_at", "started_at", "finished_at", "attempts")
    search_fields = ("document__original_name", "document__id")
    raw_id_fields = ("document",)
