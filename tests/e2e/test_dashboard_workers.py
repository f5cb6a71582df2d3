"""Worker liveness with real rundramatiq processes: one is killed while it reads a page, and
the dashboard (and /metrics) shows it dead, holding that page."""

import os
import re
import signal
import time
import urllib.request

import pytest
from django.contrib.auth import get_user_model
from django.test import override_settings
from django.utils import timezone

from dashboard.figures import WorkerRow
from dashboard.selectors import workers
from processing import identity
from processing.models import Page, WorkerProcess
from tests.factories import api_token, scanned_pdf

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

METRICS_TOKEN = "e2e-metrics-token"
LIVENESS = {"EXORA_WORKER_STALE_SECONDS": 2, "EXORA_WORKER_DEAD_SECONDS": 4}


@pytest.fixture
def quick_heartbeats(e2e_env: dict[str, str]) -> dict[str, str]:
    """Beats every half second and short liveness limits, for every process of the test."""
    e2e_env.update({key: str(value) for key, value in LIVENESS.items()})
    e2e_env.update(
        {
            "EXORA_WORKER_HEARTBEAT_SECONDS": "0.5",
            "EXORA_DASHBOARD_REFRESH_SECONDS": "1",
            "EXORA_METRICS_TOKEN": METRICS_TOKEN,
            # Recovery would hand the page back at once; the test looks at the dead worker first.
            "EXORA_RECOVERY_INTERVAL_SECONDS": "0",
        }
    )
    return e2e_env


def wait_for(condition, what: str, logs, timeout: float = 90.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"{what} not seen after {timeout:.0f} s\n\n{logs()}")


def metrics_text(base_url: str) -> str:
    request = urllib.request.Request(f"{base_url}/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"})
    with urllib.request.urlopen(request, timeout=10) as response:
        body: bytes = response.read()  # urlopen() is typed as returning Any
        return body.decode()


@override_settings(**LIVENESS)
def test_a_killed_worker_shows_as_dead_with_the_page_it_held(
    quick_heartbeats, idle_worker_pool, api_for, e2e_processes
):
    logs = e2e_processes.logs
    # GIVEN two real worker processes, each writing its heartbeat
    idle_worker_pool.start()
    pids = set(idle_worker_pool.worker_pids())
    rows = wait_for(
        lambda: (r := list(WorkerProcess.objects.filter(pid__in=pids))) and len(r) == 2 and r,
        "two heartbeat rows",
        logs,
    )
    now = timezone.now()
    assert {workers.liveness(row, now) for row in rows} == {workers.ALIVE}
    assert all({"documents", "pages"} <= set(row.queues) and row.rss_bytes > 0 for row in rows), rows

    # AND a six-page scan being read
    user = get_user_model().objects.create_user("wanda", password="correct-horse-battery")
    api = api_for(api_token(user))
    status, body = api.upload("long-scan.pdf", scanned_pdf([[f"Observation {n} recorded."] for n in range(1, 7)]))
    assert status == 201, body

    # WHEN the worker reading a page is killed (SIGKILL: no chance to say goodbye)
    page = wait_for(
        lambda: Page.objects.filter(document_id=body["id"], status=Page.Status.RUNNING).exclude(lease_owner="").first(),
        "a page being read",
        logs,
    )
    victim = page.lease_owner
    victim_pid = identity.pid_of(victim)
    assert victim_pid in pids
    os.kill(victim_pid, signal.SIGKILL)

    # THEN within the liveness limits the dashboard shows it stale, then dead
    def victim_row() -> WorkerRow | None:
        return next((w for w in workers.workers_overview() if w["name"] == victim), None)

    dead = wait_for(lambda: (row := victim_row()) and row["state"] == workers.DEAD and row, "the worker dead", logs, 30)
    # AND it lists the page it held, and what became of it
    held = {(h["document"], h["page"]): h["fate"] for h in dead["held"]}
    assert (body["id"], page.number) in held, dead
    assert held[(body["id"], page.number)] in {
        "still leased to the dead worker: recovery hands it back when the lease runs out",
        "handed back: waiting for a worker",
        "read since by another worker",
    } or held[(body["id"], page.number)].startswith("being read again by")

    # AND /metrics (scraped with the token from the real web server) counts it dead
    text = wait_for(
        lambda: (t := metrics_text(api.base_url)) and re.search(r'exora_workers\{state="dead"\} [1-9]', t) and t,
        "exora_workers{state=dead} in /metrics",
        logs,
        30,
    )
    assert "exora_queue_messages" in text and "exora_backlog_seconds" in text
