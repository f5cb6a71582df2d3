from django.urls import path

from documents import views

app_name = "documents"

urlpatterns = [
    path("", views.document_list, name="list"),
    path("upload/", views.upload, name="upload"),
    path("reads/", views.reads, name="reads"),
    path("preferences/notifications/", views.notification_preferences, name="notifications"),
    path("documents/<uuid:document_id>/", views.document_detail, name="detail"),
    path("documents/<uuid:document_id>/status.json", views.status_json, name="status"),
    path("documents/<uuid:document_id>/cancel/", views.cancel, name="cancel"),
    path("documents/<uuid:document_id>/retry/", views.retry, name="retry"),
    path("documents/<uuid:document_id>/delete/", views.delete, name="delete"),
    path("documents/<uuid:document_id>/text/", views.download_text, name="text"),
    path("documents/<uuid:document_id>/json/", views.download_json, name="json"),
    path("documents/<uuid:document_id>/pages/<int:number>.jpg", views.page_image, name="page-image"),
]
