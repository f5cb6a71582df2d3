"""Real processes for end-to-end tests: a Dramatiq worker pool and the web server (`runweb`).

Both run against the test database (so tests use `transactional_db`: only committed rows are
visible to another process), a dedicated Redis database flushed for each test, and the same
data directory as the test process. Every process is stopped at teardown (SIGTERM, then
SIGKILL for the whole process group), and its log, kept under `tmp_path`, is added to the
report of a failing test.

Fixtures:
    e2e_env           the environment the processes run with
    idle_worker_pool  a `WorkerPool` not started yet: start()/stop()/kill() it at will
    worker_pool       the same, started and ready
    web_server        a running `WebServer`; its `base_url` is http://127.0.0.1:<port>
    api_for           api_for(token) -> an `ApiClient` of the web server
    e2e_processes     every process of the test, for `logs()` in assertion messages
"""

import contextlib
import http.cookiejar
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import psutil
import pytest
import redis
from django.conf import settings
from django.core.management import call_command
from django.db import connection

BASE_DIR = Path(settings.BASE_DIR)
BIN_DIR = Path(sys.executable).parent
E2E_REDIS_URL = os.environ.get("EXORA_E2E_REDIS_URL", "redis://127.0.0.1:6379/9")
LOG_TAIL_LINES = 60
LOG_MARKER = "=== log of "


class ManagedProcess:
    """One command run in its own process group, its output appended to a log file."""

    def __init__(self, name: str, args: list[str], env: dict[str, str], log_path: Path) -> None:
        self.name = name
        self.args = args
        self.env = env
        self.log_path = log_path
        self.popen: subprocess.Popen[bytes] | None = None
        self._log_offset = 0
        self._reaped = False

    @property
    def running(self) -> bool:
        return self.popen is not None and self.popen.poll() is None

    @property
    def pid(self) -> int | None:
        return self.popen.pid if self.popen else None

    def start(self) -> None:
        if self.running:
            raise RuntimeError(f"{self.name} is already running")
        with self.log_path.open("ab") as log:
            log.write(f"\n--- {time.strftime('%H:%M:%S')} starting: {' '.join(self.args)}\n".encode())
            self._log_offset = log.tell()
            self._reaped = False
            self.popen = subprocess.Popen(
                self.args,
                cwd=BASE_DIR,
                env=self.env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group: children die with it
            )

    def output_since_start(self) -> str:
        with self.log_path.open("rb") as log:
            log.seek(self._log_offset)
            return log.read().decode(errors="replace")

    def kill(self) -> None:
        """SIGKILL the whole process group at once, like a crash or an OOM kill."""
        self._signal_group(signal.SIGKILL)
        self._reap(timeout=10)

    def stop(self, grace: float = 10.0) -> None:
        """SIGTERM the main process (it tells its children); SIGKILL what is left after `grace` s."""
        if self.popen is None:
            return
        if self.popen.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                self.popen.send_signal(signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.popen.wait(timeout=grace)
        # Children outlive a main process that died or hung: end the group either way.
        self._signal_group(signal.SIGKILL)
        self._reap(timeout=10)

    def children(self) -> list[psutil.Process]:
        if self.popen is None or not self.running:
            return []
        with contextlib.suppress(psutil.NoSuchProcess):
            children: list[psutil.Process] = psutil.Process(self.popen.pid).children(recursive=True)
            return children
        return []

    def _signal_group(self, sig: signal.Signals) -> None:
        if self.popen is not None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self.popen.pid, sig)

    def _reap(self, timeout: float) -> None:
        if self.popen is not None and not self._reaped:
            self.popen.wait(timeout=timeout)
            self._reaped = True
            with self.log_path.open("ab") as log:
                log.write(f"--- {time.strftime('%H:%M:%S')} exited with {self.popen.returncode}\n".encode())

    def tail(self, lines: int = LOG_TAIL_LINES) -> str:
        if not self.log_path.exists():
            return "(no log)"
        text = self.log_path.read_text(errors="replace").splitlines()
        return "\n".join(text[-lines:])


class E2EProcesses:
    """Every process a test started, to stop them all and to show their logs."""

    def __init__(self, log_dir: Path) -> None:
        self.log_dir = log_dir
        self.processes: list[ManagedProcess] = []

    def add(self, process: ManagedProcess) -> ManagedProcess:
        self.processes.append(process)
        return process

    def logs(self, lines: int = LOG_TAIL_LINES) -> str:
        parts = [f"{LOG_MARKER}{p.name} ({p.log_path}), last {lines} lines:\n{p.tail(lines)}" for p in self.processes]
        return "\n\n".join(parts) or "(no process was started)"

    def stop_all(self) -> None:
        for process in reversed(self.processes):
            process.stop()


_PROCESSES = pytest.StashKey[E2EProcesses]()


class WorkerPool:
    """`manage.py rundramatiq`: a main process and `processes` worker processes."""

    READY = re.compile(r"dramatiq\.WorkerProcess\((\d+)\).*Worker process is ready for action")

    def __init__(self, process: ManagedProcess, processes: int, diagnostics: E2EProcesses) -> None:
        self.process = process
        self.processes = processes
        self._diagnostics = diagnostics

    def start(self, timeout: float = 60.0) -> None:
        """Start the pool and wait until every worker process is consuming."""
        self.process.start()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            ready = set(self.READY.findall(self.process.output_since_start()))
            if len(ready) >= self.processes:
                return
            if not self.process.running:
                break
            time.sleep(0.2)
        state = "exited" if not self.process.running else f"not ready after {timeout:.0f} s"
        self.process.stop()
        pytest.fail(f"the worker pool {state}\n\n{self._diagnostics.logs()}", pytrace=False)

    def stop(self, grace: float = 10.0) -> None:
        self.process.stop(grace)

    def kill(self) -> None:
        self.process.kill()

    @property
    def running(self) -> bool:
        return self.process.running

    def worker_pids(self) -> list[int]:
        """The worker processes (not the main one), e.g. to kill one of them."""
        return [child.pid for child in self.process.children()]


class WebServer:
    """`manage.py runweb` (uvicorn) with `processes` processes on a free local port; `launcher`
    wraps its command (to run it on a host of its own: tests/e2e/fleet/hosts.py). Its access log goes
    to its own log."""

    def __init__(
        self,
        env: dict[str, str],
        log_dir: Path,
        diagnostics: E2EProcesses,
        launcher: Callable[[list[str]], list[str]] | None = None,
        name: str = "web",
        processes: int = 1,
    ) -> None:
        self.env = env
        self.log_dir = log_dir
        self._diagnostics = diagnostics
        self.launcher = launcher or (lambda args: args)
        self.name = name
        self.processes = processes
        self.process: ManagedProcess | None = None
        self.port: int | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 60.0) -> None:
        log_name = self.name.replace(" ", "-")
        if self.process is None:
            log = self.log_dir / f"{log_name}.log"
            self.process = self._diagnostics.add(ManagedProcess(self.name, [], self.env, log))
        process = self.process
        # A free port can be taken between choosing and binding it: try another then.
        for _attempt in range(3):
            self.port = _free_port()
            process.env = {
                **self.env,
                "EXORA_HOST": "127.0.0.1",
                "EXORA_PORT": str(self.port),
                "EXORA_WEB_PROCESSES": str(self.processes),
            }
            process.args = self.launcher([sys.executable, "manage.py", "runweb"])
            process.start()
            if self._wait_until_answering(timeout):
                return
            if process.running:  # up but not answering: no point in another port
                break
            if "Address already in use" not in process.output_since_start():
                break
        process.stop()
        pytest.fail(f"{self.name} did not answer on {self.base_url}\n\n{self._diagnostics.logs()}", pytrace=False)

    def _wait_until_answering(self, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process is None or not self.process.running:
                return False
            try:
                with urllib.request.urlopen(f"{self.base_url}/accounts/login/", timeout=5) as response:
                    if response.status == 200:
                        return True
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            time.sleep(0.2)
        return False

    def stop(self) -> None:
        if self.process is not None:
            self.process.stop()


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


# --- Fixtures ----------------------------------------------------------------------------------


@pytest.fixture
def e2e_redis() -> str:
    """The URL of a dedicated, empty Redis database; fails (never skips) when Redis is down."""
    client = redis.Redis.from_url(E2E_REDIS_URL, socket_connect_timeout=2, socket_timeout=5)
    problem = None
    try:
        client.ping()
        client.flushdb()
    except redis.RedisError as exc:
        problem = exc
    finally:
        client.close()
    if problem is not None:
        pytest.fail(
            f"Redis at {E2E_REDIS_URL} is unreachable ({problem}); start it with `scripts/services.sh redis`",
            pytrace=False,
        )
    return E2E_REDIS_URL


@pytest.fixture(scope="session")
def collected_static() -> Path:
    """STATIC_ROOT filled by collectstatic, as `make run` does, for WhiteNoise in the web server to serve."""
    call_command("collectstatic", interactive=False, verbosity=0)
    return Path(settings.STATIC_ROOT)


@pytest.fixture
def e2e_env(transactional_db, e2e_redis, collected_static) -> dict[str, str]:
    """The environment of the processes: this test database, Redis, this data directory."""
    database_name = connection.settings_dict["NAME"]
    parts = urllib.parse.urlsplit(os.environ["DATABASE_URL"])
    if not parts.scheme.startswith("postgres"):
        pytest.fail(f"end-to-end tests need PostgreSQL, not {parts.scheme}", pytrace=False)
    database_url = urllib.parse.urlunsplit(parts._replace(path=f"/{database_name}"))
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "exora.settings",
        "DATABASE_URL": database_url,
        "EXORA_BROKER": "redis",
        "REDIS_URL": e2e_redis,
        "EXORA_DATA_DIR": os.environ["EXORA_DATA_DIR"],
        "EXORA_WORKERS": "2",
        # As in production: a burst's announcements made once (the test process makes them at once).
        "EXORA_EVENTS_COALESCE_SECONDS": "1.0",
        "EXORA_WORKER_THREADS": "1",
        # Recovery as in production, on a shorter clock so fault tests finish in minutes.
        "EXORA_RECOVERY_INTERVAL_SECONDS": "1",
        "EXORA_LEASE_SECONDS": "6",
        "EXORA_LOG_LEVEL": "INFO",  # the worker pool is ready when its processes say so
        "PYTHONUNBUFFERED": "1",
    }


@pytest.fixture
def e2e_processes(request, tmp_path) -> Iterator[E2EProcesses]:
    log_dir = tmp_path / "logs"
    log_dir.mkdir()
    processes = E2EProcesses(log_dir)
    request.node.stash[_PROCESSES] = processes
    yield processes
    processes.stop_all()


@pytest.fixture
def idle_worker_pool(e2e_env, e2e_processes) -> Iterator[WorkerPool]:
    """Two worker processes of one thread each, as the Procfile runs them; not started yet."""
    processes = 2
    args = [sys.executable, "manage.py", "runworkers"]  # sized by EXORA_WORKERS in e2e_env
    process = e2e_processes.add(ManagedProcess("worker", args, e2e_env, e2e_processes.log_dir / "worker.log"))
    pool = WorkerPool(process, processes, e2e_processes)
    yield pool
    pool.stop()


@pytest.fixture
def worker_pool(idle_worker_pool: WorkerPool) -> WorkerPool:
    idle_worker_pool.start()
    return idle_worker_pool


@pytest.fixture
def web_server(e2e_env, e2e_processes) -> Iterator[WebServer]:
    server = WebServer(e2e_env, e2e_processes.log_dir, e2e_processes)
    server.start()
    yield server
    server.stop()


# --- Talking to the API ------------------------------------------------------------------------


# The password of the people the e2e tests sign in as.
PASSWORD = "correct-horse-battery"


class ApiClient:
    """The REST API over real HTTP with an API token (django-rest-knox; the standard library only)."""

    def __init__(self, base_url: str, token: str) -> None:
        self.base_url = base_url
        self.token = token

    def request(
        self, method: str, path: str, body: bytes | None = None, headers: dict[str, str] | None = None
    ) -> tuple[int, bytes]:
        request = urllib.request.Request(
            self.base_url + path,
            data=body,
            method=method,
            headers={"Authorization": f"Token {self.token}", "Accept": "application/json", **(headers or {})},
        )
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return response.status, response.read()
        except urllib.error.HTTPError as error:
            return error.code, error.read()

    def get_json(self, path: str) -> dict[str, Any]:
        status, body = self.request("GET", path)
        assert status == 200, f"GET {path}: {status} {body[:500]!r}"
        document: dict[str, Any] = json.loads(body)
        return document

    def upload(
        self, filename: str, content: bytes, content_type: str = "application/pdf"
    ) -> tuple[int, dict[str, Any]]:
        boundary = uuid.uuid4().hex
        body = (
            (
                f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{filename}"\r\n'
                f"Content-Type: {content_type}\r\n\r\n"
            ).encode()
            + content
            + f"\r\n--{boundary}--\r\n".encode()
        )
        status, raw = self.request(
            "POST", "/api/v1/documents/", body, {"Content-Type": f"multipart/form-data; boundary={boundary}"}
        )
        return status, json.loads(raw or b"{}")

    def wait_until_finished(
        self, document_id: str, diagnostics: E2EProcesses, timeout: float = 120.0
    ) -> dict[str, Any]:
        """Poll the document until it is finished; fail with the processes' logs after `timeout`."""
        deadline = time.monotonic() + timeout
        seen: list[str] = []
        while True:
            document = self.get_json(f"/api/v1/documents/{document_id}/")
            state = f"{document['status']} {document['pages_done']}/{document['page_count']}"
            if not seen or seen[-1] != state:
                seen.append(state)
            if document["finished_at"] or document["status"] in ("completed", "failed", "cancelled"):
                return document
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"document {document_id} not finished after {timeout:.0f} s; states seen: {seen}\n\n"
                    f"{diagnostics.logs()}"
                )
            time.sleep(0.5)


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


@pytest.fixture
def api_for(web_server) -> Callable[[str], "ApiClient"]:
    """`api_for(token)`: an `ApiClient` of the running web server."""
    return lambda token: ApiClient(web_server.base_url, token)


# --- Logs in the report of a failing test ------------------------------------------------------


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    report = yield
    processes = item.stash.get(_PROCESSES, None)
    if processes is not None and report.failed and LOG_MARKER not in str(report.longrepr):
        report.sections.append(("exora process logs", processes.logs()))
    return report
