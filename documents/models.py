"""What the documents app keeps: each uploaded document and where its processing stands (as its
owner sees it), the ETA predictions made to its owner, and how people want to be told.

Pages, jobs and attempts are processing's (processing.models); processing changes a document
only through documents.lifecycle.
"""

import uuid

from django.conf import settings
from django.db import models


def original_upload_path(document: "Document", filename: str) -> str:
    return f"documents/{document.id}/original{document.extension}"


def readable_copy_path(document: "Document", filename: str) -> str:
    return f"documents/{document.id}/readable{document.extension}"


class Document(models.Model):
    """One uploaded file and where its processing stands; what its owner sees."""

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        CONVERTING = "converting", "Converting"
        READING = "reading", "Reading"
        EXTRACTING = "extracting", "Extracting records"
        COMPLETED = "completed", "Completed"
        FAILED = "failed", "Failed"
        CANCELLED = "cancelled", "Cancelled"

    FINISHED = (Status.COMPLETED, Status.FAILED, Status.CANCELLED)

    class OcrMode(models.TextChoices):
        AUTO = "auto", "Text layer where present, OCR elsewhere"
        FORCE = "force", "OCR every page"
        OFF = "off", "Text layer only"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="documents")
    original_name = models.CharField(max_length=255)
    file = models.FileField(upload_to=original_upload_path, max_length=500)
    # A repaired or decrypted copy of the original, which the workers read instead when there is
    # one (a PDF qpdf could repair, or one that opens with the empty password).
    readable_file = models.FileField(upload_to=readable_copy_path, max_length=500, blank=True)
    readable_sha256 = models.CharField(max_length=64, blank=True)
    size_bytes = models.BigIntegerField()
    sha256 = models.CharField(max_length=64, db_index=True)
    mime_type = models.CharField(max_length=100)
    ocr_mode = models.CharField(max_length=8, choices=OcrMode.choices, default=OcrMode.AUTO)

    status = models.CharField(max_length=16, choices=Status.choices, default=Status.QUEUED, db_index=True)
    error = models.TextField(blank=True, help_text="Why processing failed, in words the owner understands.")
    page_count = models.PositiveIntegerField(null=True, blank=True)
    pages_done = models.PositiveIntegerField(default=0)

    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    timings = models.JSONField(default=dict, blank=True)
    # What the extraction passes found once every page was read (processing.engine.passes):
    # {"encounters": [...], "records": {kind: [...]}}; empty until then.
    extraction = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["owner", "-created_at"])]
        # Operators' powers over other people's documents (/ops/ and the admin's actions).
        permissions = [
            ("retry_document", "Can retry a failed or cancelled document"),
            ("cancel_document", "Can cancel a document"),
        ]

    def __str__(self) -> str:
        return self.original_name

    EXTENSIONS = {
        "application/pdf": ".pdf",
        "image/png": ".png",
        "image/jpeg": ".jpg",
        "image/tiff": ".tiff",
    }

    @property
    def extension(self) -> str:
        return self.EXTENSIONS.get(self.mime_type, "")

    @property
    def is_finished(self) -> bool:
        return self.status in self.FINISHED

    @property
    def status_text(self) -> str:
        """The status in a sentence, e.g. 'Reading page 3 of 12'."""
        if self.status == self.Status.READING and self.page_count:
            current = min(self.pages_done + 1, self.page_count)
            return f"Reading page {current} of {self.page_count}"
        if self.status == self.Status.FAILED:
            return f"Failed: {self.error}" if self.error else "Failed"
        return self.get_status_display()


class Prediction(models.Model):
    """What we told the owner when a run of a document was queued, against what happened, so
    that the error of the ETA can be measured. One row per run (a retry is a new run)."""

    document = models.ForeignKey(Document, on_delete=models.CASCADE, related_name="predictions")
    enqueued_at = models.DateTimeField(help_text="The run this is about (Job.enqueued_at).")
    predicted_at = models.DateTimeField()
    position = models.PositiveIntegerField(null=True, blank=True)
    predicted_start_p50 = models.DateTimeField(null=True, blank=True)
    predicted_start_p90 = models.DateTimeField(null=True, blank=True)
    predicted_finish_p50 = models.DateTimeField(null=True, blank=True)
    actual_start = models.DateTimeField(null=True, blank=True, help_text="When its first page started being read.")
    actual_finish = models.DateTimeField(null=True, blank=True)
    notified_at = models.DateTimeField(null=True, blank=True, help_text="When the owner was e-mailed it finished.")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["document", "enqueued_at"], name="one_prediction_per_run")]

    def __str__(self) -> str:
        return f"prediction for {self.document_id} queued {self.enqueued_at:%H:%M:%S}"


class NotificationPreference(models.Model):
    """How a person wants to hear that a document finished; no row means the defaults."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications")
    email_on_finish = models.BooleanField(default=True)

    def __str__(self) -> str:
        return f"notifications of {self.user}"
