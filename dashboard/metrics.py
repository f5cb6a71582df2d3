"""/metrics in the Prometheus text format: names prefixed `exora_`, base units (seconds,
bytes), labels for queues, states and stages only (never a document: unbounded labels ruin
a Prometheus server).

For autoscaling workers (KEDA's prometheus scaler, or an HPA on an external metric):
    exora_backlog_seconds / <target wait>     workers wanted to read the backlog in time
    exora_workers_needed                      the dashboard's own recommendation
    exora_queue_messages{state="ready"}       plain depth, per queue
Gauges come from the shared snapshot (one computation per refresh, whatever the number of
scrapers); counters and histograms from `MetricTally`, which only ever goes up.
"""

import logging
from collections.abc import Iterator

from django.db.models import Count
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.exposition import CONTENT_TYPE_LATEST

from dashboard.figures import SnapshotData
from dashboard.models import Alert, DashboardSnapshot
from dashboard.services import snapshot as snapshots
from processing import tallies
from processing.models import MetricTally

logger = logging.getLogger(__name__)


class SnapshotCollector:
    """Yields every family from one snapshot; registered in a registry built per scrape."""

    def __init__(self, current: DashboardSnapshot) -> None:
        self.current = current
        self.data: SnapshotData = current.data or SnapshotData()

    def collect(self) -> Iterator[Metric]:
        yield from self._queues()
        yield from self._database()
        yield from self._workers()
        yield from self._capacity()
        yield from self._tallies()
        yield from self._alerts()

    def _queues(self) -> Iterator[Metric]:
        queues = self.data.get("queues", {})
        depth = GaugeMetricFamily(
            "exora_queue_messages", "Messages in a Dramatiq queue, by state.", labels=["queue", "state"]
        )
        age = GaugeMetricFamily(
            "exora_queue_oldest_message_age_seconds", "Age of the oldest ready message.", labels=["queue"]
        )
        for queue in queues.get("broker") or []:
            for state in ("ready", "running", "delayed", "dead"):
                depth.add_metric([queue["name"], state], queue[state])
            age.add_metric([queue["name"]], queue["oldest_age_seconds"] or 0.0)
        up = GaugeMetricFamily("exora_broker_up", "1 when the last snapshot could read the broker's queues.")
        up.add_metric([], 1.0 if queues.get("broker") is not None else 0.0)
        yield from (depth, age, up)

    def _database(self) -> Iterator[Metric]:
        database = self.data.get("queues", {}).get("database", {})
        documents = GaugeMetricFamily("exora_documents", "Documents by status.", labels=["status"])
        for status, n in (database.get("documents") or {}).items():
            documents.add_metric([status], n)
        pages = GaugeMetricFamily("exora_pages_open", "Pages waiting or being read.", labels=["status"])
        for status, n in (database.get("pages") or {}).items():
            pages.add_metric([status], n)
        oldest = GaugeMetricFamily(
            "exora_oldest_waiting_seconds", "How long the oldest waiting job has waited.", labels=["stage"]
        )
        oldest.add_metric(["document"], database.get("oldest_queued_document_seconds") or 0.0)
        oldest.add_metric(["page"], database.get("oldest_pending_page_seconds") or 0.0)
        yield from (documents, pages, oldest)

    def _workers(self) -> Iterator[Metric]:
        workers = GaugeMetricFamily("exora_workers", "Worker processes by liveness.", labels=["state"])
        for state, n in (self.data.get("worker_counts") or {}).items():
            workers.add_metric([state], n)
        rss = GaugeMetricFamily("exora_workers_resident_memory_bytes", "Resident memory of the alive workers.")
        rss.add_metric([], sum(w["rss_bytes"] for w in self.data.get("workers", []) if w["state"] == "alive"))
        yield from (workers, rss)

    def _capacity(self) -> Iterator[Metric]:
        capacity = self.data.get("capacity", {})
        for name, key, text in (
            ("exora_backlog_pages", "backlog_pages", "Pages waiting to be read, queued documents at average size."),
            ("exora_pages_in_line", "pages_in_line", "Of those, the ones a new upload waits behind (windows)."),
            ("exora_backlog_seconds", "backlog_seconds", "Page-weighted backlog: waiting pages x seconds per page."),
            ("exora_page_service_seconds", "service_seconds_per_page", "Mean seconds a page occupies a worker."),
            ("exora_arrival_pages_per_second", "arrival_pages_per_second", "Pages arriving, over 15 minutes."),
            ("exora_worker_slots", "slots_now", "Worker threads alive (one page each at a time)."),
            ("exora_workers_needed", "workers_needed", "Worker processes needed to keep the wait under target."),
            ("exora_target_wait_seconds", "target_wait_seconds", "The wait a job should not exceed."),
        ):
            family = GaugeMetricFamily(name, text)
            value = capacity.get(key)  # a number, or None (or absent) when it cannot be known yet
            family.add_metric([], float(value) if isinstance(value, int | float) else 0.0)
            yield family

    def _tallies(self) -> Iterator[Metric]:
        rows = {(t.name, t.label): t for t in MetricTally.objects.all()}
        pages = CounterMetricFamily("exora_pages_processed", "Pages read and stored.")
        documents = CounterMetricFamily(
            "exora_documents_finished", "Documents finished, by outcome.", labels=["status"]
        )
        failed = CounterMetricFamily(
            "exora_attempts_failed", "Runs of a stage that raised, by stage.", labels=["stage"]
        )
        stage = HistogramMetricFamily(
            "exora_page_stage_duration_seconds", "Seconds per page in each stage.", labels=["stage"]
        )
        wait = HistogramMetricFamily("exora_document_wait_seconds", "Seconds from queued to started.")
        recovered = CounterMetricFamily(
            "exora_recovered_pages", "Pages handed back after the worker reading them died."
        )
        for family, name in ((pages, tallies.PAGES_PROCESSED), (recovered, tallies.PAGES_RECOVERED)):
            family.add_metric([], rows[(name, "")].count if (name, "") in rows else 0)
        for (name, label), tally in rows.items():
            if name == tallies.DOCUMENTS_FINISHED:
                documents.add_metric([label], tally.count)
            elif name == tallies.ATTEMPTS_FAILED:
                failed.add_metric([label], tally.count)
            elif name == tallies.PAGE_STAGE_SECONDS:
                stage.add_metric([label], _buckets(tally), tally.total)
            elif name == tallies.DOCUMENT_WAIT_SECONDS:
                wait.add_metric([], _buckets(tally), tally.total)
        yield from (pages, recovered, documents, failed, stage, wait)

    def _alerts(self) -> Iterator[Metric]:
        firing = GaugeMetricFamily("exora_alerts_firing", "Alerts firing, by severity.", labels=["severity"])
        counts = dict(
            Alert.objects.filter(state=Alert.State.FIRING).values_list("severity").annotate(n=Count("id")).order_by()
        )
        for severity in Alert.Severity.values:
            firing.add_metric([severity], counts.get(severity, 0))
        evaluated = GaugeMetricFamily(
            "exora_alerts_last_evaluation_timestamp_seconds",
            "When the alert evaluator last completed a round (alert on its age from outside, too).",
        )
        at = self.current.alerts_evaluated_at
        evaluated.add_metric([], at.timestamp() if at else 0.0)
        computed = GaugeMetricFamily("exora_snapshot_timestamp_seconds", "When these figures were computed.")
        computed.add_metric([], self.current.computed_at.timestamp() if self.current.computed_at else 0.0)
        yield from (firing, evaluated, computed)


def _buckets(tally: MetricTally) -> list[tuple[str, float]]:
    counts = list(tally.buckets) or [0] * len(tallies.DURATION_BUCKETS)
    pairs = [(f"{bound:g}", float(n)) for bound, n in zip(tallies.DURATION_BUCKETS, counts, strict=False)]
    return [*pairs, ("+Inf", float(tally.count))]


def render() -> tuple[bytes, str]:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(SnapshotCollector(snapshots.current()))
    return generate_latest(registry), CONTENT_TYPE_LATEST
