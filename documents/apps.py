from django.apps import AppConfig


class DocumentsConfig(AppConfig):
    name = "documents"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Connect their receivers: files go with a document's row; sockets close with their session.
        from documents import deletion, ws_auth  # noqa: F401
