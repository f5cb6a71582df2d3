"""The body cap against the real server the end-to-end harness runs (tests/e2e/conftest.py's
WebServer): an endless chunked body is refused with 413, and nothing past the limit reaches the
disk of any of its processes."""

import os
import socket
import time
from pathlib import Path

import psutil
import pytest

from tests.e2e.conftest import WebServer

pytestmark = [pytest.mark.e2e]

CHUNK = b"\0" * 64 * 1024
MOST_TO_SEND = 256 * 1024 * 1024  # far past any limit here: "endless" for the test


def bytes_in(folder: Path) -> int:
    return sum(f.stat().st_size for f in folder.rglob("*") if f.is_file())


def open_file_bytes_under(pid: int, folder: Path) -> int:
    """What the server's processes (it and its children) hold open under `folder`, deleted files
    included (a spooled body is an unlinked temporary file, invisible to a listing)."""
    total = 0
    try:
        pids = [pid, *(child.pid for child in psutil.Process(pid).children(recursive=True))]
    except psutil.NoSuchProcess:
        return 0
    for each in pids:
        try:
            descriptors = os.listdir(f"/proc/{each}/fd")
        except (FileNotFoundError, PermissionError):
            continue
        for fd in descriptors:
            try:
                if os.readlink(f"/proc/{each}/fd/{fd}").startswith(str(folder)):
                    total += os.stat(f"/proc/{each}/fd/{fd}").st_size
            except (FileNotFoundError, ProcessLookupError):
                continue
    return total


def stream_zeros(port: int, path: str, watch) -> tuple[int, bytes, int]:
    """POST endless zeros, chunked, until the server answers or closes; returns (bytes sent, the
    answer, the most the server held on disk meanwhile, measured by `watch`)."""
    sent, held = 0, 0
    with socket.create_connection(("127.0.0.1", port), timeout=10) as connection:
        connection.sendall(
            f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\n"
            "Content-Type: multipart/form-data; boundary=zeros\r\n\r\n".encode()
        )
        connection.settimeout(0.5)
        frame = f"{len(CHUNK):x}\r\n".encode() + CHUNK + b"\r\n"
        try:
            while sent < MOST_TO_SEND:
                connection.sendall(frame)
                sent += len(CHUNK)
                if sent % (4 * 1024 * 1024) == 0:
                    held = max(held, watch())
        except (BrokenPipeError, ConnectionResetError, TimeoutError):
            pass  # refused: the server closed its side
        held = max(held, watch())
        connection.settimeout(10)
        answer = b""
        try:
            while chunk := connection.recv(65536):
                answer += chunk
        except (ConnectionResetError, TimeoutError):
            pass
    return sent, answer, held


@pytest.fixture
def small_limits_server(e2e_env, e2e_processes, tmp_path):
    """The web server with a 64 KB limit for ordinary routes and 2 MB for uploads, and a scratch
    folder of its own to watch."""
    scratch = tmp_path / "server-tmp"
    scratch.mkdir()
    env = {**e2e_env, "EXORA_MAX_REQUEST_KB": "64", "EXORA_MAX_UPLOAD_MB": "2", "EXORA_TMP_DIR": str(scratch)}
    server = WebServer(env, e2e_processes.log_dir, e2e_processes)
    server.start()
    yield server, scratch
    server.stop()


@pytest.mark.parametrize(("path", "limit"), [("/healthz", 64 * 1024), ("/api/v1/documents/", 2 * 1024 * 1024)])
def test_endless_chunked_zeros_are_refused_before_they_reach_the_disk(small_limits_server, path, limit):
    # GIVEN the web server with small limits, and what its scratch folder holds before
    server, scratch = small_limits_server
    assert server.process is not None and server.process.pid is not None
    pid = server.process.pid
    before = bytes_in(scratch)

    def held_on_disk() -> int:
        return open_file_bytes_under(pid, scratch) + bytes_in(scratch) - before

    # WHEN a client POSTs endless chunked zeros (no length declared)
    started = time.monotonic()
    sent, answer, held = stream_zeros(server.port, path, held_on_disk)

    # THEN it is answered 413 soon after the limit, not after hundreds of MB
    assert answer.startswith(b"HTTP/1.1 413"), answer[:200]
    assert b"this address accepts" in answer
    assert sent < limit + 32 * 1024 * 1024, f"sent {sent} bytes before the server refused"
    assert time.monotonic() - started < 60
    # AND nothing past the limit was written to the server's disk, not even to an unlinked
    # temporary file (an upload may spool up to its limit; a small body stays in memory)
    assert held <= limit, f"the server held {held} bytes of the body on disk"


def test_a_declared_length_over_the_limit_is_answered_before_the_body(small_limits_server):
    # GIVEN the web server with a 2 MB upload limit
    server, _ = small_limits_server
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as connection:
        # WHEN a client declares a 1 GB upload and sends only its headers
        connection.sendall(
            b"POST /api/v1/documents/ HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 1073741824\r\n"
            b"Content-Type: multipart/form-data; boundary=x\r\n\r\n"
        )
        answer = connection.recv(65536)
    # THEN the 413 comes at once
    assert answer.startswith(b"HTTP/1.1 413"), answer[:200]


def test_a_small_request_still_goes_through(small_limits_server):
    server, _ = small_limits_server
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as connection:
        connection.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
        answer = connection.recv(65536)
    assert answer.startswith(b"HTTP/1.1 200"), answer[:200]
