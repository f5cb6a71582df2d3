"""Two web replicas behind a load balancer: one is killed while a person watches a document;
the other serves the same session, and the page's socket reconnects to it by itself."""

import json

import pytest
from django.contrib.auth import get_user_model
from playwright.sync_api import WebSocket, sync_playwright

from documents.models import Document
from tests.e2e.conftest import PASSWORD, ApiClient
from tests.e2e.fleet.engines import FailoverBalancer
from tests.e2e.fleet.hosts import upload_scans
from tests.e2e.test_browser import CHROMIUM, CHROMIUM_ARGS, SUMMARY_JS
from tests.factories import api_token

pytestmark = [pytest.mark.e2e, pytest.mark.slow, pytest.mark.chaos, pytest.mark.browser]

TIMEOUT_MS = 60_000


# The web tier is the same whichever broker carries the work.
@pytest.mark.parametrize("fleet", ["rabbitmq"], indirect=True)
def test_a_killed_web_replica_leaves_the_session_and_the_socket_to_the_other(fleet, e2e_processes):
    # GIVEN two web replicas on hosts of their own, behind a balancer that sends every new
    # connection to web-1 while it answers, and a worker host not started yet
    logs = e2e_processes.logs
    replicas = {node: fleet.web_host(node) for node in ("web-1", "web-2")}
    balancer = FailoverBalancer([("127.0.0.1", server.port or 0) for server in replicas.values()])
    worker = fleet.worker_host("worker-a")
    user = get_user_model().objects.create_user("hosts", password=PASSWORD)
    api = ApiClient(balancer.base_url, api_token(user))
    [document_id] = upload_scans(api, documents=1, pages=3)
    base = balancer.base_url

    try:
        with sync_playwright() as playwright:  # no ORM inside: Playwright runs an event loop
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            page = browser.new_page()
            page.set_default_timeout(TIMEOUT_MS)
            # AND the person signed in, watching the queued document over the page's socket
            page.goto(f"{base}/accounts/login/")
            page.get_by_label("Username").fill("hosts")
            page.get_by_label("Password").fill(PASSWORD)
            page.get_by_role("button", name="Sign in").click()
            page.wait_for_url(f"{base}/")
            page.goto(f"{base}/documents/{document_id}/")
            page.wait_for_function("() => window.exoraLive && window.exoraLive.mode === 'socket'")
            assert set(balancer.served) == {replicas["web-1"].port}, "web-1 served everything so far"

            # WHEN web-1's host is killed whole
            frames_after_kill: list[str | bytes] = []

            def record_frames(socket: WebSocket) -> None:
                socket.on("framereceived", lambda frame: frames_after_kill.append(frame))

            page.on("websocket", record_frames)
            replicas["web-1"].process.kill()

            # THEN the page's socket reconnects by itself, to web-2, with the same session
            page.wait_for_function(
                "() => window.exoraLive.reconnects >= 1 && window.exoraLive.mode === 'socket'", timeout=TIMEOUT_MS
            )
            assert balancer.served[-1] == replicas["web-2"].port
            # AND the reading that starts now reaches the page over the new socket, up to the end
            # (when the page reloads itself to show the text)
            worker.start()
            page.wait_for_function(
                "() => (document.getElementById('summary') || {dataset: {}}).dataset.finished === '1'",
                timeout=240_000,
            )
            states = [json.loads(frame) for frame in frames_after_kill if isinstance(frame, str)]
            mine = [state for state in states if state.get("id") == document_id]
            assert any(state.get("status") == "completed" for state in mine), states
            summary = page.evaluate(SUMMARY_JS)
            assert summary is not None and summary["value"] == summary["max"] == 3, summary
            # AND a new page load on web-2 is still signed in
            page.goto(f"{base}/documents/{document_id}/")
            assert page.url == f"{base}/documents/{document_id}/", f"sent to {page.url}\n{logs()}"
            browser.close()
    finally:
        balancer.close()

    assert Document.objects.get(id=document_id).status == Document.Status.COMPLETED, logs()
