"""Who read which document's content, when, from which address, through which door.

Append-only: rows are written by the doors (documents' pages and API, the socket, the admin,
the operators' pages) and deleted only by retention (`EXORA_ACCESS_LOG_DAYS`). A row names the
document and its owner by id, never by anything read from the document (no file name, no
text), and outlives both, so a deleted document's reads stay on record.
"""

from django.conf import settings
from django.db import models


class DocumentRead(models.Model):
    class Door(models.TextChoices):
        PAGE = "page", "Document page"
        PAGE_IMAGE = "page_image", "Page image"
        TEXT = "text", "Text download"
        JSON = "json", "JSON download"
        API_DOCUMENT = "api_document", "API: document"
        API_RESULT = "api_result", "API: result"
        API_TEXT = "api_text", "API: text"
        SOCKET = "socket", "Live status socket"
        ADMIN = "admin", "Admin"
        OPERATIONS = "operations", "Operators' dashboard"

    at = models.DateTimeField(auto_now_add=True, db_index=True)
    reader = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    # Kept as text too, so the record survives the account being deleted.
    reader_name = models.CharField(max_length=150)
    address = models.GenericIPAddressField(null=True, blank=True)
    door = models.CharField(max_length=20, choices=Door.choices)
    document_id = models.UUIDField(db_index=True)
    owner_id = models.IntegerField(db_index=True, help_text="The document's owner when it was read.")

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["owner_id", "-at"])]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M:%S} {self.reader_name} read {self.document_id} ({self.door})"
