"""The body cap in the ASGI application (exora.bodylimit): a body past its route's limit is
answered 413 while it streams in, and the application never reads the rest."""

import asyncio

from asgiref.testing import ApplicationCommunicator

from exora.asgi import application
from exora.bodylimit import limit_for

CHUNK = b"\0" * 16 * 1024


def http_scope(method: str, path: str, headers: list[tuple[bytes, bytes]] | None = None) -> dict:
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "headers": [(b"host", b"localhost"), *(headers or [])],
        "client": ("127.0.0.1", 40000),
        "server": ("127.0.0.1", 8000),
    }


async def stream_until_answered(communicator: ApplicationCommunicator, chunks: int) -> tuple[int, int]:
    """Offer up to `chunks` chunks of zeros, one at a time, until an answer comes; returns (the
    chunks the application read, the status it answered)."""
    sent = 0
    for _ in range(chunks):
        await communicator.send_input({"type": "http.request", "body": CHUNK, "more_body": True})
        sent += 1
        await asyncio.sleep(0.005)
        if not communicator.output_queue.empty():
            break
    start = await communicator.receive_output(timeout=5)
    return sent - communicator.input_queue.qsize(), start["status"]


def test_an_endless_body_is_refused_once_past_the_small_limit(settings, transactional_db):
    # GIVEN a small limit for ordinary routes
    settings.EXORA_MAX_REQUEST_KB = 64

    async def scenario() -> tuple[int, int, bytes]:
        communicator = ApplicationCommunicator(application, http_scope("POST", "/healthz"))
        # WHEN a client streams zeros to /healthz, with no length declared
        read, status = await stream_until_answered(communicator, chunks=1000)
        body = await communicator.receive_output(timeout=5)
        await communicator.wait(timeout=5)
        return read, status, body["body"]

    read, status, body = asyncio.run(scenario())
    # THEN it is answered 413 as soon as the limit is passed, not after the body ends
    assert status == 413
    assert read <= 64 // 16 + 1, f"the application read {read} chunks of 16 KB"
    assert b"64 KB" in body


def test_a_declared_length_over_the_limit_is_refused_before_reading(settings, transactional_db):
    # GIVEN an upload limit of 1 MB, and an upload that says it is 5 MB
    settings.EXORA_MAX_UPLOAD_MB = 1
    settings.EXORA_MAX_UPLOAD_BYTES = 1024 * 1024
    headers = [
        (b"content-length", str(5 * 1024 * 1024).encode()),
        (b"content-type", b"multipart/form-data; boundary=x"),
    ]

    async def scenario() -> tuple[int, bytes, int]:
        communicator = ApplicationCommunicator(application, http_scope("POST", "/api/v1/documents/", headers))
        await communicator.send_input({"type": "http.request", "body": CHUNK, "more_body": True})
        # WHEN it is sent, THEN the answer is 413 without a byte of the body read
        start = await communicator.receive_output(timeout=5)
        body = await communicator.receive_output(timeout=5)
        await communicator.wait(timeout=5)
        return start["status"], body["body"], communicator.input_queue.qsize()

    status, body, unread = asyncio.run(scenario())
    assert status == 413
    assert body.startswith(b'{"detail"')
    assert unread == 1


def test_uploads_take_the_upload_limit_and_everything_else_the_small_one(settings):
    settings.EXORA_MAX_REQUEST_KB = 100
    settings.EXORA_MAX_UPLOAD_BYTES = 50 * 1024 * 1024
    assert limit_for("POST", "/api/v1/documents/") > 50 * 1024 * 1024
    assert limit_for("POST", "/upload/") > 50 * 1024 * 1024
    assert limit_for("PUT", "/api/v1/documents/") == 100 * 1024
    assert limit_for("POST", "/healthz") == 100 * 1024
    assert limit_for("POST", "/accounts/login/") == 100 * 1024
