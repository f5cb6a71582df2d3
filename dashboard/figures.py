"""The shape of the shared snapshot (`DashboardSnapshot.data`): what the selectors compute, the
alert rules measure, /metrics exports, and the presenters turn into pages.

It is stored as JSON and read back by every viewer, so these are plain dicts (TypedDicts), not
objects: times are ISO strings, and the keys are what /ops/live.json serves as "figures".
"""

from typing import Literal, TypedDict


class BrokerQueueFigures(TypedDict):
    """One queue as the broker sees it (`processing.brokers.QueueFigures`, as a dict)."""

    name: str
    ready: int
    running: int
    delayed: int
    dead: int
    dead_recent: int
    oldest_age_seconds: float | None


class DatabaseQueues(TypedDict):
    """The database's view of the work waiting (`selectors.queues.database_queues`)."""

    documents: dict[str, int]  # by status
    pages: dict[str, int]  # pending and running, of documents still reading
    oldest_queued_document_seconds: float | None
    oldest_pending_page_seconds: float | None


class QueueFigures(TypedDict):
    names: list[str]
    broker: list[BrokerQueueFigures] | None  # None: the broker could not answer, or the stub broker
    broker_error: str
    broker_kind: str  # "redis", "rabbitmq", or "" (the in-memory stub)
    database: DatabaseQueues
    target_wait_seconds: float


class WorkItem(TypedDict):
    """A message a worker is running, as its heartbeat reported it."""

    document: str
    page: int | None  # None: the start stage
    actor: str


class DocumentJob(TypedDict):
    """One job of a document: its start stage (page None) or one of its pages."""

    document: str
    page: int | None
    name: str  # the document's original name; "" once it is deleted


class HeldJob(DocumentJob):
    """A job a dead worker held, and what became of it since, in a phrase an operator can act on."""

    fate: str


class WorkerRow(TypedDict):
    name: str
    host: str
    pid: int
    queues: list[str]
    threads: int
    state: str  # processing.heartbeat: ALIVE, STALE, DEAD or STOPPED
    started_at: str
    last_heartbeat: str
    heartbeat_age_seconds: float
    rss_bytes: int
    memory_limit_bytes: int
    memory_percent: float | None
    cpu_percent: float
    messages_done: int
    current: list[WorkItem]
    held: list[HeldJob]


# Events per minute in each bucket, by window ("hour", "day", "week").
Series = dict[str, list[float]]
SeriesName = Literal["pages", "documents", "documents_failed", "failures"]


class Throughput(TypedDict):
    pages: Series
    documents: Series
    documents_failed: Series
    failures: Series
    bucket_starts: dict[str, str]  # by window: the ISO time of its first bucket


class Percentiles(TypedDict):
    p50: float | None  # None when there is no sample
    p95: float | None
    n: int


class Histogram(TypedDict):
    labels: list[str]
    counts: list[int]


class FailedDocument(TypedDict):
    id: str
    name: str
    page: int | None


class FailureGroup(TypedDict):
    """One entry of the failures inbox: a stage and an error class."""

    stage: str
    error_class: str
    count: int
    first_seen: str | None
    last_seen: str | None
    latest_message: str
    documents: list[FailedDocument]


class Measurements(TypedDict):
    arrival_pages_per_second: float
    service_seconds_per_page: float | None  # None: no page read recently
    backlog_pages: float  # every page not read yet, queued documents at the average size
    pages_in_line: float  # of those, the ones a new upload waits behind (each document's window)
    pages_per_document: float


class Capacity(Measurements):
    """The measurements, the workers needed against those running, and the advice in words."""

    arrival_pages_per_minute: float
    backlog_seconds: float | None
    target_wait_seconds: float
    slots_now: int
    workers_now: int
    threads_per_worker: int
    slots_needed: int
    workers_needed: int
    advice: str


class SnapshotData(TypedDict, total=False):
    """Every figure of one snapshot; empty (`{}`) until the first one is computed."""

    computed_at: str
    queues: QueueFigures
    workers: list[WorkerRow]
    worker_counts: dict[str, int]  # by state
    throughput: Throughput
    timings: dict[str, Percentiles]  # by stage: "document_wait", "page_ocr", …
    distributions: dict[str, Histogram]  # "pages", "bytes", "confidence"
    failures: list[FailureGroup]
    capacity: Capacity
