"""Helpers for socket tests: documents in the queue without uploading, and a socket as a
browser or a token client opens it (through exora.asgi's real stack and Redis layer)."""

import asyncio
from datetime import timedelta
from typing import Any

import pytest
from channels.testing import WebsocketCommunicator
from django.contrib.auth import get_user_model
from django.test import Client
from django.utils import timezone

from documents.models import Document
from exora.asgi import application
from processing.models import Job, Page, WorkerProcess

# The real web server and worker fixtures of the end-to-end suite, for the browser test.
from tests.e2e.conftest import (  # noqa: F401
    collected_static,
    e2e_env,
    e2e_processes,
    e2e_redis,
    idle_worker_pool,
    web_server,
)

PASSWORD = "correct-horse-battery"
_made = 0


def queued_document(owner, *, lane: str = "standard", pages: int = 1, ago: float = 60.0) -> Document:
    """A queued document with its job, enqueued `ago` seconds ago (its place in the lane)."""
    global _made
    _made += 1
    enqueued = timezone.now() - timedelta(seconds=ago)
    document = Document.objects.create(
        owner=owner,
        original_name=f"doc-{_made}.pdf",
        file=f"documents/none/{_made}.pdf",
        size_bytes=1,
        sha256=f"{_made:064d}",
        mime_type="application/pdf",
        page_count=pages,
    )
    Job.objects.create(document=document, lane=lane, enqueued_at=enqueued)
    return document


def page_history(owner, seconds: list[float]) -> None:
    """Pages read before, one per figure, to measure the time of a page from."""
    document = queued_document(owner, pages=len(seconds))
    now = timezone.now()
    Page.objects.bulk_create(
        Page(document=document, number=n, status=Page.Status.DONE, timings={"total": s}, done_at=now)
        for n, s in enumerate(seconds, start=1)
    )
    Document.objects.filter(id=document.id).update(
        status=Document.Status.COMPLETED, pages_done=len(seconds), finished_at=now - timedelta(hours=1)
    )


def worker(name: str, *, threads: int = 1, age: float = 1.0, queues=None) -> WorkerProcess:
    now = timezone.now()
    return WorkerProcess.objects.create(
        name=name,
        host="test",
        pid=abs(hash(name)) % 100_000,
        queues=queues or ["documents", "pages-priority", "pages", "pages-bulk"],
        threads=threads,
        started_at=now - timedelta(minutes=5),
        last_heartbeat=now - timedelta(seconds=age),
    )


def signed_in_browser(user) -> tuple[Client, bytes]:
    """A browser signed in as `user`, and its session cookie as its socket sends it."""
    browser = Client()
    browser.force_login(user)
    return browser, f"sessionid={browser.cookies['sessionid'].value}".encode()


def session_cookie(username: str) -> bytes:
    return signed_in_browser(get_user_model().objects.get(username=username))[1]


def communicator(*, cookie: bytes | None = None, origin: bytes | None = b"http://localhost", token: str | None = None):
    headers = []
    if origin:
        headers.append((b"origin", origin))
    if cookie:
        headers.append((b"cookie", cookie))
    if token:
        headers.append((b"authorization", f"Token {token}".encode()))
    return WebsocketCommunicator(application, "/ws/documents/", headers=headers)


async def receive_all(
    socket: WebsocketCommunicator, *, quiet: float = 0.5, limit: float = 10.0
) -> list[dict[str, Any]]:
    """Every message until none came for `quiet` seconds (or `limit` passed). Waits with
    receive_nothing: a receive that times out would cancel the application."""
    received: list[dict[str, Any]] = []
    loop = asyncio.get_running_loop()
    deadline = loop.time() + limit
    while loop.time() < deadline and not await socket.receive_nothing(timeout=quiet, interval=0.02):
        received.append(await socket.receive_json_from())
    return received


@pytest.fixture
def alice(transactional_db):
    return get_user_model().objects.create_user("alice", password=PASSWORD, email="alice@example.org")


@pytest.fixture
def bob(transactional_db):
    return get_user_model().objects.create_user("bob", password=PASSWORD, email="bob@example.org")
