"""Several hosts that share nothing but the engines: a web host and two worker hosts, each in a
mount namespace of its own (tests/e2e/hosts.py), with the files in an S3 bucket (SeaweedFS).

Run with the e2e clock: a 6 s lease and a 1 s recovery interval.
"""

import http.cookiejar
import os
import signal
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator

import pytest
from django.contrib.auth import get_user_model
from django.core.files.storage import default_storage
from django.core.management import call_command

from dashboard.models import Alert, AlertRule
from documents.models import Document
from processing import identity
from processing.models import Attempt, Page, WorkerProcess
from tests.conftest import bucket_keys
from tests.dashboard.conftest import seed_default_rules
from tests.e2e.conftest import ApiClient, WebServer, WorkerPool
from tests.e2e.hosts import Fleet
from tests.factories import api_token, scanned_pdf

pytestmark = [pytest.mark.e2e, pytest.mark.slow, pytest.mark.chaos]

PASSWORD = "correct-horse-battery"


@pytest.fixture
def fleet(e2e_env, e2e_processes, s3_bucket) -> Fleet:
    return Fleet({**e2e_env, "EXORA_S3_BUCKET": s3_bucket}, e2e_processes)


@pytest.fixture
def web(fleet) -> Iterator[WebServer]:
    server = fleet.web_host("web-1")
    yield server
    server.stop()


@pytest.fixture
def worker_hosts(fleet) -> Iterator[dict[str, WorkerPool]]:
    hosts = {node: fleet.worker_host(node) for node in ("worker-a", "worker-b")}
    for host in hosts.values():
        host.start()
    yield hosts
    for host in hosts.values():
        host.stop()


@pytest.fixture
def api(web) -> ApiClient:
    user = get_user_model().objects.create_user("hosts", password=PASSWORD)
    return ApiClient(web.base_url, api_token(user))


def upload_scans(api: ApiClient, documents: int, pages: int) -> list[str]:
    ids = []
    for n in range(1, documents + 1):
        lines = [[f"Host test record {n} page {p} read once"] for p in range(1, pages + 1)]
        status, body = api.upload(f"record-{n}.pdf", scanned_pdf(lines, height_in=1.0))
        assert status == 201, body
        ids.append(body["id"])
    return ids


def wait_for(condition, timeout: float, what: str, logs):
    deadline = time.monotonic() + timeout
    while not (found := condition()):
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}\n\n{logs()}")
        time.sleep(0.2)
    return found


def all_finished(ids: list[str]) -> bool:
    return not Document.objects.filter(id__in=ids).exclude(status__in=Document.FINISHED).exists()


def held_by(node: str) -> list[Page]:
    running = Page.objects.filter(status=Page.Status.RUNNING).exclude(lease_owner="")
    return [page for page in running if identity.node_of(page.lease_owner) == node]


def assert_read_once_each(ids: list[str], bucket: str, logs) -> None:
    """Every document completed, every page stored once: its own text, one image in the bucket,
    and no crash counted against it."""
    images = {key for key in bucket_keys(bucket) if "/pages/" in key}
    for document in Document.objects.filter(id__in=ids):
        assert document.status == Document.Status.COMPLETED, f"{document.error}\n{logs()}"
        pages = list(Page.objects.filter(document=document).order_by("number"))
        assert document.pages_done == document.page_count == len(pages)
        for page in pages:
            assert page.status == Page.Status.DONE and page.crash_count == 0, page
            assert f"page {page.number} read once" in page.text
            assert page.image.name in images
        assert len([key for key in images if f"documents/{document.id}/" in key]) == len(pages)


def signed_in_opener(base_url: str, username: str) -> urllib.request.OpenerDirector:
    """A browser's session on the web host: the sign-in form, with its CSRF token."""
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    opener.open(f"{base_url}/accounts/login/", timeout=10).read()
    csrf = next(cookie.value for cookie in jar if cookie.name == "csrftoken")
    form = urllib.parse.urlencode({"username": username, "password": PASSWORD, "csrfmiddlewaretoken": csrf})
    request = urllib.request.Request(
        f"{base_url}/accounts/login/", data=form.encode(), headers={"Referer": f"{base_url}/accounts/login/"}
    )
    opener.open(request, timeout=10).read()
    assert any(cookie.name == "sessionid" for cookie in jar), "not signed in"
    return opener


def test_an_upload_is_read_by_both_worker_hosts_and_served_by_the_web_host(
    fleet, web, worker_hosts, api, s3_bucket, e2e_processes
):
    # GIVEN a web host and two worker hosts, sharing only PostgreSQL, Redis and the bucket
    logs = e2e_processes.logs

    # WHEN an eight-page scan is uploaded to the web host
    [document_id] = upload_scans(api, documents=1, pages=8)
    api.wait_until_finished(document_id, e2e_processes, timeout=240)

    # THEN both worker hosts read its pages
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
    assert_read_once_each(ids, s3_bucket, logs)


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
