from django.urls import path

from dashboard import views

app_name = "dashboard"

urlpatterns = [
    path("ops/", views.dashboard, name="index"),
    path("ops/live.json", views.live, name="live"),
    path("ops/documents/<uuid:document_id>/retry/", views.retry_document, name="retry-document"),
    path("ops/failures/retry/", views.retry_group, name="retry-group"),
    path("ops/alerts/<int:alert_id>/acknowledge/", views.acknowledge, name="acknowledge"),
    path("ops/reads.csv", views.export_reads, name="export-reads"),
    # Where probes and scrapers expect them, without a trailing slash.
    path("metrics", views.prometheus, name="metrics"),
    path("healthz", views.healthz, name="healthz"),
    path("readyz", views.readyz, name="readyz"),
]
