"""An operator's view: headless Chromium signs in to /ops/ on a real web server (runweb) with a week of
data and queued messages in Redis, sees the charts, and the page polls only while visible."""

from datetime import timedelta

import dramatiq
import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.utils import timezone
from dramatiq.brokers.redis import RedisBroker
from playwright.sync_api import expect, sync_playwright

from documents.models import Document
from processing.models import Page, WorkerProcess
from tests.dashboard.conftest import fail_with, make_document, seed_default_rules
from tests.e2e.conftest import PASSWORD
from tests.e2e.test_browser import ARTIFACTS, CHROMIUM, CHROMIUM_ARGS

pytestmark = [pytest.mark.browser, pytest.mark.e2e, pytest.mark.slow]

HIDE_TAB_JS = """() => {
  Object.defineProperty(document, "visibilityState", {configurable: true, get: () => "hidden"});
  document.dispatchEvent(new Event("visibilitychange"));
}"""
SHOW_TAB_JS = """() => {
  Object.defineProperty(document, "visibilityState", {configurable: true, get: () => "visible"});
  document.dispatchEvent(new Event("visibilitychange"));
}"""


@pytest.fixture
def quick_refresh(e2e_env: dict[str, str]) -> dict[str, str]:
    e2e_env["EXORA_DASHBOARD_REFRESH_SECONDS"] = "1"
    # The seeded "alive" worker writes no more heartbeats: keep it alive for the test's length.
    e2e_env["EXORA_WORKER_STALE_SECONDS"] = "300"
    e2e_env["EXORA_WORKER_DEAD_SECONDS"] = "400"
    return e2e_env


def seed_a_week(owner) -> None:
    """Documents read over the past week and hour, a few failures, work waiting, two workers."""
    now = timezone.now()
    for hours_ago in range(2, 160, 5):
        make_document(owner, created=now - timedelta(hours=hours_ago), pages=1 + hours_ago % 7, page_seconds=2.0)
    for minutes_ago in range(3, 58, 4):
        make_document(
            owner,
            created=now - timedelta(minutes=minutes_ago),
            pages=1 + minutes_ago % 5,
            page_seconds=1.0 + (minutes_ago % 3),
            confidence=60 + minutes_ago % 40,
            size_bytes=40_000 * minutes_ago,
        )
    for i, (stage, error, message) in enumerate(
        [
            ("page", "TesseractError", "tesseract exited with code -9 on page 3"),
            ("page", "TesseractError", "tesseract exited with code -9 on page 1"),
            ("start", "PermanentError", "The file is not a PDF or an image we can read."),
        ]
    ):
        failed = make_document(
            owner, status=Document.Status.FAILED, name=f"failed-{i}.pdf", created=now - timedelta(minutes=20 + i)
        )
        fail_with(failed, stage=stage, error_class=error, message=message, page=1 if stage == "page" else None)
    reading = make_document(owner, status=Document.Status.READING, pages=12, name="ward-notes.pdf")
    Page.objects.filter(document=reading, number=2).update(status=Page.Status.RUNNING, lease_owner="ops-host:4242")
    # The dead worker still holds the page it was reading: its alert fires until it is handed back.
    Page.objects.filter(document=reading, number=1).update(status=Page.Status.RUNNING, lease_owner="ops-host:4100")
    WorkerProcess.objects.create(
        name="ops-host:4242", host="ops-host", pid=4242, queues=["documents", "pages"], threads=1,
        started_at=now - timedelta(hours=3), last_heartbeat=now,
        rss_bytes=310 * 1024 * 1024, memory_limit_bytes=2 * 1024**3, cpu_percent=97.5,
        current=[{"actor": "read_document_page", "document": str(reading.id), "page": 2, "since": now.isoformat()}],
    )  # fmt: skip
    WorkerProcess.objects.create(
        name="ops-host:4100", host="ops-host", pid=4100, queues=["documents", "pages"], threads=1,
        started_at=now - timedelta(hours=3), last_heartbeat=now - timedelta(minutes=10),
        rss_bytes=290 * 1024 * 1024, memory_limit_bytes=2 * 1024**3,
        current=[{"actor": "read_document_page", "document": str(reading.id), "page": 1, "since": now.isoformat()}],
    )  # fmt: skip


def enqueue_waiting_messages(redis_url: str) -> None:
    """Ten page messages and one start message waiting in the test's Redis, nobody reading them."""
    broker = RedisBroker(url=redis_url)  # type: ignore[no-untyped-call, unused-ignore]  # dramatiq: __init__ untyped
    try:
        for n in range(10):
            broker.enqueue(dramatiq.Message("pages", "read_document_page", (f"doc-{n}", n), {}, {}))
        broker.enqueue(dramatiq.Message("documents", "start_document", ("doc-x",), {}, {}))
    finally:
        broker.close()


def test_the_operator_sees_the_dashboard_with_charts_and_it_polls_only_while_visible(
    quick_refresh, web_server, e2e_redis
):
    # GIVEN an operator, a week of documents, failures, waiting work and two workers (one dead)
    operator = get_user_model().objects.create_user("otto", password=PASSWORD, is_staff=True)
    seed_default_rules()
    seed_a_week(operator)
    enqueue_waiting_messages(e2e_redis)
    call_command("run_alerts", "--once")  # the evaluator's round: the dead worker's alert fires
    base = web_server.base_url
    ARTIFACTS.mkdir(exist_ok=True)

    with sync_playwright() as playwright:  # no ORM from here on: Playwright runs an event loop
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1360, "height": 1000})
            page.set_default_timeout(30_000)
            errors: list[str] = []
            page.on("pageerror", lambda error: errors.append(str(error)))
            # Failed requests by URL (the browser's own favicon probe aside), and script errors.
            page.on(
                "response",
                lambda r: errors.append(f"{r.status} {r.url}") if r.status >= 400 and "favicon" not in r.url else None,
            )

            # WHEN they sign in and follow the Operations link
            page.goto(f"{base}/accounts/login/")
            page.get_by_label("Username").fill("otto")
            page.get_by_label("Password").fill(PASSWORD)
            page.get_by_role("button", name="Sign in").click()
            page.get_by_role("link", name="Operations").click()
            page.wait_for_url(f"{base}/ops/")

            # THEN the throughput and distribution charts are drawn, with data
            expect(page.get_by_role("heading", name="Operations")).to_be_visible()
            expect(page.locator("#ops-throughput svg")).to_have_count(3)
            expect(page.locator("#ops-distributions svg")).to_have_count(3)
            points = page.locator('#ops-throughput polyline[data-series="pages"]').first.get_attribute("points")
            assert points is not None  # narrows the type
            assert len(set(p.split(",")[1] for p in points.split())) > 3, "the pages line is flat"
            # AND the queues from Redis (after a poll at most), the workers and the failures
            expect(page.locator('#ops-queues tr[data-queue="pages"] td').nth(1)).to_have_text("10")
            expect(page.locator('#ops-workers tr[data-worker="ops-host:4100"] .pill')).to_have_text("dead")
            expect(page.locator("#ops-workers .held")).to_contain_text("ward-notes.pdf p.1")
            expect(page.locator("#ops-failures")).to_contain_text("TesseractError")
            expect(page.locator("#ops-alerts")).to_contain_text("heartbeat is stale")
            expect(page.locator("#ops-capacity .advice")).not_to_be_empty()
            page.screenshot(path=str(ARTIFACTS / "dashboard.png"), full_page=True)

            # AND it polls while visible
            polls = page.evaluate("window.exoraOps.polls")
            # (functions, not expression strings: Playwright evals those, which the CSP refuses)
            page.wait_for_function("(least) => window.exoraOps.polls >= least", arg=polls + 2)
            # WHEN the tab is hidden THEN polling stops
            page.evaluate(HIDE_TAB_JS)
            expect(page.locator("#ops-refresh-state")).to_have_text("paused while hidden")
            hidden_at = page.evaluate("window.exoraOps.polls")
            page.wait_for_timeout(3_500)
            assert page.evaluate("window.exoraOps.polls") == hidden_at
            # WHEN it is shown again THEN it polls at once
            page.evaluate(SHOW_TAB_JS)
            page.wait_for_function("(before) => window.exoraOps.polls > before", arg=hidden_at)
            expect(page.locator("#ops-refresh-state")).to_have_text("live")
            assert errors == [], errors
        finally:
            browser.close()
