from django.db import models

from documents.models import Document


class Job(models.Model):
    """The processing job of one document: when it was queued, started and finished.

    The document's status is what its owner sees; the job keeps the bookkeeping of running it.
    How often it ran, and how each run ended, is in its attempts.
    """

    class Lane(models.TextChoices):
        PRIORITY = "priority", "Priority"
        STANDARD = "standard", "Standard"
        BULK = "bulk", "Bulk"

    document = models.OneToOneField(Document, on_delete=models.CASCADE, related_name="job")
    lane = models.CharField(max_length=8, choices=Lane.choices, default=Lane.STANDARD, db_index=True)
    enqueued_at = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)

    def __str__(self) -> str:
        return f"job for {self.document_id}"


class Attempt(models.Model):
    """One run of an actor for a job: where it ran, when, and how it ended.

    An attempt with no outcome is still running, or its worker died while running it.
    """

    class Stage(models.TextChoices):
        START = "start", "Start (count the pages)"
        PAGE = "page", "Read a page"
        EXTRACT = "extract", "Extract records (encounters, medications, labs...)"

    class Outcome(models.TextChoices):
        SUCCEEDED = "succeeded", "Succeeded"
        RETRYING = "retrying", "Failed, will be retried"
        FAILED = "failed", "Failed the document"
        SKIPPED = "skipped", "Nothing to do"

    job = models.ForeignKey(Job, on_delete=models.CASCADE, related_name="attempts")
    stage = models.CharField(max_length=8, choices=Stage.choices)
    page_number = models.PositiveIntegerField(null=True, blank=True)
    worker = models.CharField(max_length=255, help_text="hostname:pid of the worker process that ran it.")
    started_at = models.DateTimeField(db_index=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    outcome = models.CharField(max_length=16, choices=Outcome.choices, blank=True, db_index=True)
    error_class = models.CharField(max_length=255, blank=True, help_text="The exception's class name.")
    message = models.TextField(blank=True)

    class Meta:
        ordering = ["started_at", "id"]

    def __str__(self) -> str:
        where = f"page {self.page_number}" if self.page_number else self.stage
        return f"{where} of job {self.job_id}: {self.outcome or 'running'}"
