"""A person's view: headless Chromium signs in, uploads a scan and watches it being read."""

import json
import re
import shutil
import time
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import FilePayload, Page, expect, sync_playwright

from tests.e2e.conftest import PASSWORD
from tests.factories import scanned_pdf

pytestmark = [pytest.mark.browser, pytest.mark.e2e, pytest.mark.slow]

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ARTIFACTS = Path(settings.BASE_DIR) / "test-artifacts"
PAGES = [f"Ward round number {n} found the patient comfortable." for n in (1, 2, 3, 4)]
FILLER = [f"Observation {n}: vital signs stable, no acute distress, plan unchanged." for n in range(25)]
TIMEOUT_MS = 30_000  # for each step; generous, as other work may share the two cores

# What the document page shows; null while the page is between two loads.
SUMMARY_JS = """() => {
  const summary = document.getElementById("summary");
  const status = document.getElementById("status");
  const progress = document.getElementById("progress");
  const count = document.getElementById("pages-count");
  if (!summary || !status || !progress || !count) return null;
  return {status: status.textContent.trim(), value: progress.value, max: progress.max,
          count: count.textContent.trim(), finished: summary.dataset.finished};
}"""


def test_upload_in_the_browser_and_watch_it_being_read(web_server, idle_worker_pool, e2e_processes, tmp_path):
    # GIVEN a person with a password, the web server up and the workers not started yet
    get_user_model().objects.create_user("carol", password=PASSWORD)
    base = web_server.base_url
    # Full pages take a few seconds each to read, so the page has time to show each step even
    # though live updates come at most once a second.
    pdf = scanned_pdf([[sentence, *FILLER] for sentence in PAGES], height_in=8.0)

    with sync_playwright() as playwright:  # no ORM from here on: Playwright runs an event loop
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.set_default_timeout(TIMEOUT_MS)
            expect.set_options(timeout=TIMEOUT_MS)
            problems = _record_problems(page)

            # WHEN they sign in
            page.goto(f"{base}/accounts/login/")
            page.get_by_label("Username").fill("carol")
            page.get_by_label("Password").fill(PASSWORD)
            page.get_by_role("button", name="Sign in").click()
            page.wait_for_url(f"{base}/")
            expect(page.get_by_role("heading", name="My documents")).to_be_visible()
            # (the stylesheet came from WhiteNoise: the header has its colour)
            header_colour = page.evaluate("getComputedStyle(document.querySelector('header.top')).backgroundColor")
            assert header_colour == "rgb(23, 50, 77)", header_colour

            # AND upload a four-page scan with the file input and the Upload button
            page.locator("#file-input").set_input_files(
                files=[FilePayload(name="ward-rounds.pdf", mimeType="application/pdf", buffer=pdf)]
            )
            page.locator("#upload-button").click()
            row = page.locator("#documents tr", has=page.get_by_role("link", name="ward-rounds.pdf"))
            expect(row.locator(".status")).to_have_text("Queued")
            link = row.get_by_role("link", name="ward-rounds.pdf")

            # AND open the document page, then the workers start
            link.click()
            page.wait_for_url(re.compile(r"/documents/[0-9a-f-]{36}/$"))
            expect(page.locator("#status")).to_have_text("Queued")
            # (the page count is known from the upload check, and the socket brings it)
            expect(page.locator("#pages-count")).to_have_text(re.compile(r"0 / (\?|4) pages"))
            loads = []
            page.on("load", lambda _page: loads.append(time.monotonic()))
            idle_worker_pool.start()

            # THEN, with no reload by hand, the page follows the pages being read to the end
            states = _watch_until_finished(page, tmp_path, e2e_processes, timeout=120)
            (tmp_path / "states.json").write_text(json.dumps(states, indent=1))
            reading = [s for s in states if s["status"].startswith("Reading page")]
            assert reading, f"never saw 'Reading page …': {states}"
            assert all(s["max"] == len(PAGES) and s["value"] < len(PAGES) for s in reading), states
            values = [s["value"] for s in states]
            assert values == sorted(values), f"the progress bar went back: {states}"
            assert states[-1]["status"] == "Completed", states
            assert len(loads) == 1, f"the page should reload itself once, when finished: {len(loads)} loads"

            expect(page.locator("#status")).to_have_text("Completed")
            expect(page.locator("#pages-count")).to_have_text(f"{len(PAGES)} / {len(PAGES)} pages")
            assert page.eval_on_selector("#progress", "p => [p.value, p.max]") == [len(PAGES), len(PAGES)]
            for number, sentence in enumerate(PAGES, start=1):
                section = page.locator(f"#page-{number}")
                expect(section.locator("h2")).to_contain_text(f"Page {number}")
                expect(section.locator("h2 small")).to_contain_text("OCR")
                expect(section.locator("pre.text")).to_contain_text(sentence.split(" ", 1)[1].rstrip("."))
                _wait_for_image(page, number)

            page.evaluate("window.scrollTo(0, 0)")
            _screenshot(page, tmp_path, "detail-completed.png")

            # AND the list shows it completed too
            page.get_by_role("link", name="← My documents").click()
            row = page.locator("#documents tr", has=page.get_by_role("link", name="ward-rounds.pdf"))
            expect(row.locator(".status")).to_have_text("Completed")
            expect(row.locator(".pages")).to_have_text(f"{len(PAGES)} / {len(PAGES)}")
            _screenshot(page, tmp_path, "list-completed.png")

            assert not problems, f"{problems}\n\n{e2e_processes.logs()}"
        finally:
            browser.close()


def _watch_until_finished(page: Page, tmp_path: Path, e2e_processes, timeout: float) -> list[dict[str, Any]]:
    """Sample what the page shows every 100 ms until it shows a finished document."""
    deadline = time.monotonic() + timeout
    states: list[dict[str, Any]] = []
    progress_shot = False
    while time.monotonic() < deadline:
        try:
            state = page.evaluate(SUMMARY_JS)
        except PlaywrightError:  # the page is reloading itself
            state = None
        if state is not None:
            if not states or states[-1] != state:
                states.append(state)
            if not progress_shot and state["status"].startswith("Reading page") and state["value"] > 0:
                _screenshot(page, tmp_path, "detail-reading.png")
                progress_shot = True
            if state["finished"] == "1":
                return states
        page.wait_for_timeout(100)
    _screenshot(page, tmp_path, "detail-timeout.png")
    raise AssertionError(f"the page did not finish in {timeout} s; it showed: {states}\n\n{e2e_processes.logs()}")


def _wait_for_image(page: Page, number: int) -> None:
    """Page images load lazily: bring each into view and wait until it is decoded."""
    image = page.locator(f"#page-{number} img")
    image.scroll_into_view_if_needed()
    page.wait_for_function(
        "n => { const img = document.querySelector(`#page-${n} img`); return img.complete && img.naturalWidth > 0; }",
        arg=number,
    )


def _record_problems(page: Page) -> list[str]:
    """JavaScript errors, what the content security policy refused, and failed requests (but
    the favicon, which there is none of)."""
    problems: list[str] = []
    page.on("pageerror", lambda error: problems.append(f"JavaScript error: {error}"))
    page.on(
        "console",
        lambda message: (
            problems.append(f"refused by the policy: {message.text}")
            if message.type == "error" and "Content Security Policy" in message.text
            else None
        ),
    )
    page.on(
        "response",
        lambda response: (
            problems.append(f"{response.status} for {response.url}")
            if response.status >= 400 and not response.url.endswith("/favicon.ico")
            else None
        ),
    )
    return problems


def _screenshot(page: Page, tmp_path: Path, name: str) -> Path:
    path = tmp_path / name
    page.screenshot(path=path, full_page=True)
    ARTIFACTS.mkdir(exist_ok=True)
    shutil.copy(path, ARTIFACTS / name)
    return path
