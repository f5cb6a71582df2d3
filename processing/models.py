from django.db import models

from documents.models import Document


class Job(models.Model):
    """The processing job of one document: when it was queued, started and finished.

    The document's status is what its owner sees; the job keeps the bookkeeping of running it.
    """

    document = models.OneToOneField(Document, on_delete=models.CASCADE, related_name="job")
    enqueued_at = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True)

    def __str__(self) -> str:
        return f"job for {self.document_id}"
