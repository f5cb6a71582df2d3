"""The dashboard's figures from known database rows: throughput, timings, distributions,
the failures inbox, capacity, and the snapshot computed once per interval for everyone."""

from datetime import timedelta

import pytest
from django.test import override_settings
from django.utils import timezone

from dashboard.figures import Measurements
from dashboard.models import DashboardSnapshot
from dashboard.selectors import capacity, failures, queues, throughput
from dashboard.services import snapshot
from documents.models import Document
from processing import tallies
from processing.models import MetricTally
from tests.dashboard.conftest import fail_with, make_document

pytestmark = pytest.mark.django_db


def test_throughput_counts_pages_and_documents_per_minute_in_the_right_buckets(user):
    # GIVEN 3 documents of 2 pages finished 10 minutes ago, and one failed 2 hours ago
    now = timezone.now()
    for _ in range(3):
        make_document(user, created=now - timedelta(minutes=10), pages=2, started_after=0, page_seconds=1)
    make_document(user, status=Document.Status.FAILED, created=now - timedelta(hours=2))
    # WHEN throughput is computed
    figures = throughput.throughput(now)
    # THEN the hour chart has 6 pages and 3 documents about 10 minutes back, per minute
    assert len(figures["pages"]["hour"]) == 60 and sum(figures["pages"]["hour"]) == 6
    assert sum(figures["documents"]["hour"]) == 3
    assert max(range(60), key=lambda i: figures["pages"]["hour"][i]) in (49, 50)
    # AND the day chart (per hour, shown per minute) has them too, and the failure 2 hours back
    assert len(figures["pages"]["day"]) == 24 and sum(figures["pages"]["day"]) * 60 == pytest.approx(6, abs=0.05)
    assert sum(figures["documents_failed"]["day"]) * 60 == pytest.approx(1, abs=0.05)  # rounded rates
    assert sum(figures["documents_failed"]["hour"]) == 0
    assert len(figures["pages"]["week"]) == 168


def test_timings_and_distributions(user):
    now = timezone.now()
    for pages, seconds in ((1, 1.0), (3, 2.0), (30, 3.0)):
        make_document(user, created=now - timedelta(minutes=30), pages=pages, page_seconds=seconds, started_after=4)
    timings = throughput.timings(now)
    # 34 pages: 1 at 1 s, 3 at 2 s, 30 at 3 s
    assert timings["page_total"] == {"p50": 3.0, "p95": 3.0, "n": 34}
    assert timings["document_wait"] == {"p50": 4.0, "p95": 4.0, "n": 3}
    distributions = throughput.distributions(now)
    assert distributions["pages"]["labels"] == ["1", "2-5", "6-20", "21-100", "101-500", "> 500"]
    assert distributions["pages"]["counts"] == [1, 1, 0, 1, 0, 0]
    assert distributions["confidence"]["counts"][9] == 34  # every page at 91%


def test_the_failures_inbox_groups_by_stage_and_error_class(user):
    # GIVEN three failed documents: two by the same OCR error, one at the start
    a = make_document(user, status=Document.Status.FAILED, name="a.pdf")
    b = make_document(user, status=Document.Status.FAILED, name="b.pdf")
    c = make_document(user, status=Document.Status.FAILED, name="c.pdf")
    fail_with(a, stage="page", error_class="TesseractError", message="tesseract crashed on page 2", page=2)
    fail_with(b, stage="page", error_class="TesseractError", message="tesseract crashed on page 1", page=1)
    fail_with(c, stage="start", error_class="PermanentError", message="not a PDF")
    # AND one that recovery set aside (no failed attempt), and one failed but retried since
    make_document(user, status=Document.Status.FAILED, name="poison.pdf")
    retried = make_document(user, status=Document.Status.QUEUED, name="retried.pdf")
    fail_with(retried, stage="page", error_class="TesseractError", message="old failure", page=1)

    groups = {(g["stage"], g["error_class"]): g for g in failures.failure_groups()}

    assert set(groups) == {
        ("page", "TesseractError"),
        ("start", "PermanentError"),
        ("recovery", "(no attempt failed it)"),
    }
    ocr = groups[("page", "TesseractError")]
    assert ocr["count"] == 2 and {d["name"] for d in ocr["documents"]} == {"a.pdf", "b.pdf"}
    assert ocr["latest_message"].startswith("tesseract crashed")
    assert groups[("recovery", "(no attempt failed it)")]["documents"][0]["name"] == "poison.pdf"
    assert sorted(failures.documents_in_group("page", "TesseractError")) == sorted([str(a.id), str(b.id)])


def test_capacity_advice_from_arrivals_and_service_time():
    # GIVEN 2 pages a second arriving, 2 s a page, 1 thread per worker, and a 30 s target
    measured: Measurements = {
        "arrival_pages_per_second": 2.0,
        "service_seconds_per_page": 2.0,
        "backlog_pages": 0,
        "pages_in_line": 0,
        "pages_per_document": 1,
    }
    advice = capacity.recommendation(measured, slots_now=3, threads_per_worker=1, target_wait=30)
    # THEN 4 Erlangs of load need 5 threads (Erlang C wait with 5 is about 0.6 s): add 2 workers
    assert advice["slots_needed"] == 5 and advice["workers_needed"] == 5
    assert advice["advice"].startswith("add 2 workers")
    # AND 300 pages in line to start within 30 s need 2*2 + 300*2/30 = 24 threads
    backlog = capacity.recommendation({**measured, "backlog_pages": 300, "pages_in_line": 300}, 24, 1, 30)
    assert backlog["slots_needed"] == 24 and backlog["advice"].startswith("enough")
    assert backlog["backlog_seconds"] == 600


@override_settings(EXORA_DOCUMENT_WINDOW=8)
def test_a_long_document_puts_only_its_window_in_line(user):
    # GIVEN a 300-page document being read (none of its pages done), a 3-page one, and two
    # documents not started yet (counted at the day's average size)
    now = timezone.now()
    make_document(user, status=Document.Status.READING, pages=300)
    make_document(user, status=Document.Status.READING, pages=3)
    for _ in range(2):
        make_document(user, status=Document.Status.QUEUED)

    # WHEN the capacity figure's measurements are taken
    measured = capacity.measurements(now)

    # THEN every open page is backlog
    per_document = measured["pages_per_document"]
    assert per_document == pytest.approx(151.5)
    assert measured["backlog_pages"] == pytest.approx(300 + 3 + 2 * 151.5, abs=0.1)
    # AND only each document's window is in line: 8 of the 300, the 3, and 8 per queued one
    assert measured["pages_in_line"] == 8 + 3 + 2 * 8


def test_erlang_c_matches_known_values():
    # 2 Erlangs on 3 servers: P(wait) = 4/9, mean wait = 4/9 * 1 / (3 - 2)
    assert capacity.erlang_c_wait(arrival=2.0, service=1.0, slots=3) == pytest.approx(4 / 9)
    assert capacity.erlang_c_wait(arrival=2.0, service=1.0, slots=2) == float("inf")


@override_settings(EXORA_DASHBOARD_REFRESH_SECONDS=60)
def test_the_snapshot_is_computed_once_per_interval_for_every_viewer(
    user, operator_client, django_assert_max_num_queries
):
    # GIVEN one computed snapshot
    first = snapshot.current()
    assert first.computed_at is not None  # narrows the type: current() computed it
    # WHEN three viewers poll within the interval, even with new data meanwhile
    make_document(user)
    with django_assert_max_num_queries(3 * 12):  # session, user, the snapshot row and live alerts: no figures
        bodies = [operator_client.get("/ops/live.json").json() for _ in range(3)]
    # THEN they all get the same figures, from the same computation
    assert {body["computed_at"] for body in bodies} == {first.computed_at.isoformat()}
    # AND once the interval is over, the next viewer recomputes them for everyone
    DashboardSnapshot.objects.filter(pk=1).update(computed_at=first.computed_at - timedelta(seconds=61))
    assert operator_client.get("/ops/live.json").json()["computed_at"] != first.computed_at.isoformat()


def test_tallies_only_go_up_and_count_each_page_once(user):
    now = timezone.now()
    make_document(user, created=now - timedelta(minutes=20), pages=3, page_seconds=2.0)
    # WHEN two consecutive slices are tallied (the second overlapping nothing)
    start, until = tallies.window(now - timedelta(hours=1), now)
    tallies.advance(start, until)
    tallies.advance(until, now)
    # THEN 3 pages are counted once, and their OCR times are in the histogram
    assert MetricTally.objects.get(name=tallies.PAGES_PROCESSED).count == 3
    ocr = MetricTally.objects.get(name=tallies.PAGE_STAGE_SECONDS, label="ocr")
    assert ocr.count == 3 and ocr.total == pytest.approx(4.8)
    assert ocr.buckets[tallies.DURATION_BUCKETS.index(2.5)] == 3 and ocr.buckets[0] == 0
    assert MetricTally.objects.get(name=tallies.DOCUMENTS_FINISHED, label="completed").count == 1


def test_the_database_view_counts_only_pages_still_to_read(user):
    # GIVEN a document reading 4 pages, and a failed one that left 3 pages pending for ever
    reading = make_document(user, status=Document.Status.READING, pages=4)
    make_document(user, status=Document.Status.FAILED, pages=3)
    make_document(user, status=Document.Status.QUEUED)
    # WHEN the database's view is taken
    figures = queues.database_queues()
    # THEN only the reading document's pages wait, the oldest since it started reading
    assert figures["pages"] == {"pending": 4, "running": 0}
    assert figures["documents"]["queued"] == 1 and figures["documents"]["failed"] == 1
    assert reading.started_at is not None  # narrows the type: a reading document has started
    started_ago = (timezone.now() - reading.started_at).total_seconds()
    assert figures["oldest_pending_page_seconds"] == pytest.approx(started_ago, abs=2)
