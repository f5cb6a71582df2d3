"""A person watches an upload go from the queue to done, live, over the WebSocket."""

import re
import time
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from playwright.sync_api import FilePayload, WebSocket, expect, sync_playwright

from tests.e2e.test_browser import CHROMIUM, CHROMIUM_ARGS, FILLER, _record_problems, _screenshot
from tests.factories import scanned_pdf

pytestmark = [pytest.mark.browser, pytest.mark.e2e, pytest.mark.slow]
PASSWORD = "correct-horse-battery"
PAGES = [f"Observation chart entry {n} shows stable vital signs." for n in (1, 2, 3, 4, 5)]

LIVE_JS = """() => ({
  status: document.getElementById("status").textContent.trim(),
  queue: document.getElementById("queue-line").textContent.trim(),
  value: document.getElementById("progress").value,
  max: document.getElementById("progress").max,
  mode: window.exoraLive ? window.exoraLive.mode : null,
})"""


def test_position_progress_and_completion_arrive_over_the_socket(web_server, idle_worker_pool, e2e_processes, tmp_path):
    # GIVEN a person, the web server, and workers not started yet
    get_user_model().objects.create_user("dana", password=PASSWORD)
    base = web_server.base_url
    # Full pages take seconds each, so "Reading page" shows despite once-a-second updates.
    pdf = scanned_pdf([[line, *FILLER] for line in PAGES], height_in=8.0)

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.set_default_timeout(30_000)
            expect.set_options(timeout=30_000)
            problems = _record_problems(page)
            sockets: list[str] = []
            frames: list[str | bytes] = []
            polls: list[str] = []

            def watch(ws: WebSocket) -> None:
                sockets.append(ws.url)
                ws.on("framereceived", lambda frame: frames.append(frame))

            page.on("websocket", watch)
            page.on("request", lambda r: polls.append(r.url) if r.url.endswith("status.json") else None)

            # WHEN they sign in and upload a five-page scan
            page.goto(f"{base}/accounts/login/")
            page.get_by_label("Username").fill("dana")
            page.get_by_label("Password").fill(PASSWORD)
            page.get_by_role("button", name="Sign in").click()
            page.wait_for_url(f"{base}/")
            page.locator("#file-input").set_input_files(
                files=[FilePayload(name="obs.pdf", mimeType="application/pdf", buffer=pdf)]
            )
            page.locator("#upload-button").click()
            row = page.locator("#documents tr", has=page.get_by_role("link", name="obs.pdf"))
            # THEN the list shows its place in the queue, over the socket
            expect(row.locator(".queue")).to_contain_text("#1 in queue")
            row.get_by_role("link", name="obs.pdf").click()
            page.wait_for_url(re.compile(r"/documents/[0-9a-f-]{36}/$"))
            expect(page.locator("#queue-line")).to_contain_text(re.compile(r"#1 in queue, about \d+ s to start"))
            loads = []
            page.on("load", lambda _page: loads.append(time.monotonic()))
            polls.clear()

            # WHEN the workers start
            idle_worker_pool.start()
            states: list[dict[str, Any]] = []
            deadline = time.monotonic() + 120
            while time.monotonic() < deadline and not loads:
                try:
                    state = page.evaluate(LIVE_JS)
                except Exception:  # the page reloads itself when done
                    break
                if not states or states[-1] != state:
                    states.append(state)
                page.wait_for_timeout(50)

            # THEN the progress bar moved page by page and the page went to the end, without a reload by hand
            expect(page.locator("#status")).to_have_text("Completed", timeout=60_000)
            assert any(s["status"].startswith("Reading page") for s in states), states
            values = [s["value"] for s in states]
            assert values == sorted(values) and max(values) >= 1, states
            # (the last state may be read just after the page reloaded, before its socket opens)
            assert {s["mode"] for s in states} <= {"socket", None}, states
            assert states[0]["mode"] == "socket", states
            assert len(loads) == 1, "the page reloads itself once, to show the text"
            expect(page.locator(".toast")).to_contain_text("obs.pdf is ready")
            _screenshot(page, tmp_path, "live-completed.png")
            # AND it all came over the WebSocket: no polling while the socket was up
            assert any(url.endswith("/ws/documents/") for url in sockets), sockets
            assert len(frames) >= 3, frames
            assert polls == [], polls
            assert not problems, problems
        finally:
            browser.close()
