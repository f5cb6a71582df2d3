"""Several hosts that share nothing but the engines: a web host and two worker hosts, each in a
mount namespace of its own, on Redis and on RabbitMQ, through PgBouncer (conftest.py)."""

import os
import signal
import time

import pytest
from django.core.files.storage import default_storage
from django.core.management import call_command

from dashboard.models import Alert, AlertRule
from processing import identity
from processing.models import Attempt, Page, WorkerProcess
from tests.dashboard.conftest import seed_default_rules
from tests.e2e.conftest import signed_in_opener
from tests.e2e.fleet.engines import pgbouncer_admin
from tests.e2e.fleet.hosts import (
    all_finished,
    assert_read_once_each,
    held_by,
    upload_scans,
    wait_for,
)

pytestmark = [pytest.mark.e2e, pytest.mark.slow, pytest.mark.chaos]


def test_an_upload_is_read_by_both_worker_hosts_and_served_by_the_web_host(
    fleet, web, worker_hosts, api, s3_bucket, e2e_processes
):
    # GIVEN a web host and two worker hosts, sharing only PostgreSQL, Redis and the bucket
    logs = e2e_processes.logs

    # WHEN an eight-page scan is uploaded to the web host
    [document_id] = upload_scans(api, documents=1, pages=8)
    api.wait_until_finished(document_id, e2e_processes, timeout=240)

    # THEN the hosts reached PostgreSQL through PgBouncer
    clients = [row for row in pgbouncer_admin("SHOW CLIENTS") if row["database"] == fleet.database]
    assert len(clients) >= 3, clients  # a pool in the web host and in each worker host
    # AND both worker hosts read its pages
    readers = {identity.node_of(a.worker) for a in Attempt.objects.filter(job__document_id=document_id, stage="page")}
    assert readers == {"worker-a", "worker-b"}, logs()
    assert_read_once_each([document_id], s3_bucket, logs)
    # AND the web host serves its results, read from the database
    result = api.get_json(f"/api/v1/documents/{document_id}/result/")
    assert [p["number"] for p in result["pages"]] == list(range(1, 9))
    assert "Host test record 1 page 5 read once" in result["pages"][4]["text"]
    # AND its page images, from the bucket, to its owner signed in on the web host
    opener = signed_in_opener(web.base_url, "hosts")
    with opener.open(f"{web.base_url}/documents/{document_id}/pages/5.jpg", timeout=10) as response:
        served = response.read()
    page = Page.objects.get(document_id=document_id, number=5)
    with default_storage.open(str(page.image.name), "rb") as stored:
        assert served == stored.read() and served[:2] == b"\xff\xd8"


def test_a_worker_host_killed_whole_loses_no_page_and_counts_no_crash(
    fleet, web, worker_hosts, api, s3_bucket, e2e_processes, e2e_env
):
    # GIVEN three scanned documents being read by both worker hosts
    logs = e2e_processes.logs
    ids = upload_scans(api, documents=3, pages=5)
    wait_for(lambda: held_by("worker-a") and held_by("worker-b"), 120, "both hosts reading", logs)

    # WHEN every process of one host is killed at once (SIGKILL), in the middle of its pages
    held = wait_for(lambda: held_by("worker-a"), 60, "worker-a holding a page", logs)
    worker_hosts["worker-a"].kill()
    killed_at = time.monotonic()

    # THEN its pages are handed back within the lease time plus one recovery interval
    def handed_back() -> bool:
        pages = Page.objects.filter(id__in=[p.id for p in held])
        return all(p.status != Page.Status.RUNNING or identity.node_of(p.lease_owner) != "worker-a" for p in pages)

    wait_for(handed_back, 60, "the lost host's pages handed back", logs)
    took = time.monotonic() - killed_at
    limit = int(e2e_env["EXORA_LEASE_SECONDS"]) + float(e2e_env["EXORA_RECOVERY_INTERVAL_SECONDS"]) + 1.0
    assert took <= limit, f"handed back after {took:.1f} s (limit {limit} s)\n{logs()}"
    # AND the other host finishes every document: no page lost, none stored twice, no crash
    wait_for(lambda: all_finished(ids), 300, "every document to finish", logs)
    assert_read_once_each(ids, s3_bucket, logs, killed_node="worker-a")


def test_a_worker_host_stopped_with_sigterm_finishes_or_hands_back_and_raises_no_alert(
    fleet, web, worker_hosts, api, s3_bucket, e2e_processes
):
    # GIVEN the alert rules, and documents being read by both hosts
    logs = e2e_processes.logs
    seed_default_rules()
    ids = upload_scans(api, documents=2, pages=5)
    held = wait_for(lambda: held_by("worker-a"), 120, "worker-a holding a page", logs)

    # WHEN that host is asked to stop (SIGTERM), as a scale-down or a drain does
    stopping = worker_hosts["worker-a"]
    assert stopping.process.popen is not None
    os.kill(stopping.process.popen.pid, signal.SIGTERM)
    wait_for(lambda: not stopping.running, 120, "worker-a to stop", logs)

    # THEN the pages it held were finished, or handed back: none is left claimed by it
    for page in Page.objects.filter(id__in=[p.id for p in held]):
        assert page.status == Page.Status.DONE or page.lease_owner == "", page
    # AND it said it stopped, so the evaluator raises no alert about it
    rows = WorkerProcess.objects.filter(host="worker-a")
    assert rows.exists() and not rows.filter(stopped_at__isnull=True).exists()
    call_command("run_alerts", "--once")
    stale = Alert.objects.filter(rule__kind=AlertRule.Kind.STALE_HEARTBEAT, subject__startswith="worker-a")
    assert not stale.exists(), list(stale.values_list("subject", "state"))
    # AND the other host finishes everything, each page once
    wait_for(lambda: all_finished(ids), 300, "every document to finish", logs)
    assert_read_once_each(ids, s3_bucket, logs)
