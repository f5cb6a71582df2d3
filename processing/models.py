"""What processing keeps: a job per document and the attempts of its stages, the pages as
read (with the lease of the worker reading them), the workers' own heartbeat rows, and the
cumulative tallies /metrics counts with.

Documents are the `documents` app's; rows here point at them by name ("documents.Document")
and never change them: documents.lifecycle does.
"""

from django.db import models

from processing.lanes import DEFAULT, LANES


class Job(models.Model):
    """The processing job of one document: its lane, when it was queued, started and finished.

    The document's status is what its owner sees; the job keeps the bookkeeping of running it.
    How often it ran, and how each run ended, is in its attempts.
    """

    document = models.OneToOneField("documents.Document", on_delete=models.CASCADE, related_name="job")
    lane = models.CharField(
        max_length=8, choices=[(lane.name, lane.label) for lane in LANES], default=DEFAULT.name, db_index=True
    )
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


class Page(models.Model):
    """One page of a document as read: its image, its text and its words with their boxes.

    Boxes are `[x0, y0, x1, y1]` in pixels of a `width` x `height` page, whatever the source,
    so a viewer scales them by the displayed image's size.
    """

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        RUNNING = "running", "Being read"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"

    # Not read yet: waiting for a worker, or being read.
    OPEN_STATUSES = (Status.PENDING, Status.RUNNING)

    class Source(models.TextChoices):
        OCR = "ocr", "OCR"
        TEXT_LAYER = "text_layer", "PDF text layer"
        NONE = "none", "Not read (OCR off)"

    document = models.ForeignKey("documents.Document", on_delete=models.CASCADE, related_name="pages")
    number = models.PositiveIntegerField()
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.PENDING)
    source = models.CharField(max_length=16, choices=Source.choices, blank=True)
    # Planned when the document starts: a page whose own text stands in for OCR is read with
    # its neighbours, several to a message (processing.dispatch), because it takes milliseconds.
    reads_text_layer = models.BooleanField(default=False)
    text = models.TextField(blank=True)
    words = models.JSONField(default=list, blank=True)
    mean_confidence = models.FloatField(null=True, blank=True)
    width = models.PositiveIntegerField(null=True, blank=True)
    height = models.PositiveIntegerField(null=True, blank=True)
    image = models.FileField(max_length=500, blank=True)
    timings = models.JSONField(default=dict, blank=True)
    done_at = models.DateTimeField(null=True, blank=True)

    # Who is reading the page, until when: a worker renews its lease while it works, so a
    # lease that runs out means the worker died and the page must be handed to another.
    message_id = models.CharField(max_length=64, blank=True, help_text="The broker message that reads this page.")
    lease_owner = models.CharField(max_length=200, blank=True)
    lease_expires_at = models.DateTimeField(null=True, blank=True, db_index=True)
    crash_count = models.PositiveSmallIntegerField(default=0, help_text="Workers that died reading this page.")

    class Meta:
        ordering = ["document", "number"]
        constraints = [models.UniqueConstraint(fields=["document", "number"], name="unique_page_number")]

    def __str__(self) -> str:
        return f"{self.document_id} p.{self.number}"


class WorkerProcess(models.Model):
    """One Dramatiq worker process as it last described itself (processing.heartbeat).

    Workers write their own row: the broker's heartbeat set also lists web processes, which
    enqueue messages, so it cannot count workers.
    """

    name = models.CharField(max_length=200, db_index=True, help_text='"host:pid", as in Page.lease_owner.')
    host = models.CharField(max_length=150)
    pid = models.PositiveIntegerField()
    queues = models.JSONField(default=list, blank=True)
    threads = models.PositiveSmallIntegerField(default=1)
    started_at = models.DateTimeField()
    last_heartbeat = models.DateTimeField(db_index=True)
    stopped_at = models.DateTimeField(null=True, blank=True, help_text="Set by a clean shutdown only.")
    rss_bytes = models.BigIntegerField(default=0)
    memory_limit_bytes = models.BigIntegerField(default=0)
    cpu_percent = models.FloatField(default=0.0)
    # [{"actor", "document", "page", "since"}] for each message being run at the last beat.
    current = models.JSONField(default=list, blank=True)
    messages_done = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-last_heartbeat"]
        constraints = [
            # The pid alone can be reused by a later process on the same host.
            models.UniqueConstraint(fields=["host", "pid", "started_at"], name="unique_worker_process"),
        ]

    def __str__(self) -> str:
        return self.name


class MetricTally(models.Model):
    """A cumulative counter or histogram for /metrics, advanced incrementally so that a scrape
    never scans every page ever read (Prometheus counters must only go up)."""

    name = models.CharField(max_length=100)
    label = models.CharField(max_length=100, blank=True)
    count = models.BigIntegerField(default=0)
    total = models.FloatField(default=0.0, help_text="The sum of observations (histograms).")
    buckets = models.JSONField(default=list, blank=True, help_text="Cumulative counts per upper bound.")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["name", "label"], name="unique_metric_tally")]

    def __str__(self) -> str:
        return f"{self.name}{{{self.label}}}"
