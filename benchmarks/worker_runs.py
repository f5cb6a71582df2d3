"""Real `rundramatiq` workers for the throughput benchmark: starting and stopping them, sampling
their memory and CPU, and one document through them with the figures of its run."""

import contextlib
import os
import resource
import signal
import statistics
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import psutil
from engines import empty_rabbitmq

if TYPE_CHECKING:
    from django.contrib.auth.models import User

REPO = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
WORKER_PROCESSES = 2
WORKER_THREADS = 1
SAMPLE_INTERVAL = 0.2  # seconds between psutil samples of the worker process tree
TOOL_NAMES = ("tesseract", "pdftoppm", "pdftotext", "pdfinfo")
STALL_SECONDS = 180  # no page finished for this long: the run is stuck


def migrate(env: dict[str, str]) -> None:
    subprocess.run([PYTHON, "manage.py", "migrate", "--noinput", "-v", "0"], cwd=REPO, env=env, check=True)


def flush_redis(redis_url: str) -> None:
    import redis

    client = redis.Redis.from_url(redis_url)
    try:
        client.flushdb()
    finally:
        client.close()


def reset_broker(env: dict[str, str]) -> None:
    """An empty broker for the next run: Redis flushed, and RabbitMQ's queues when it carries the work."""
    if env.get("EXORA_BROKER") == "rabbitmq":
        empty_rabbitmq()
    flush_redis(env["REDIS_URL"])


# --- Worker processes and their memory -------------------------------------------------------------


def hwm_kb(pid: int) -> int:
    """The kernel's peak-RSS high-water mark of a process (VmHWM), in kB; 0 when unreadable."""
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        pass
    return 0


@dataclass
class ProcessPeak:
    pid: int
    name: str
    peak_rss: int = 0  # bytes, highest psutil sample
    hwm: int = 0  # bytes, highest VmHWM seen (the kernel's own peak; exact for live processes)
    cpu: tuple[float, float, float, float] = (0.0, 0.0, 0.0, 0.0)  # user, system, children user/system

    def update(self, process: psutil.Process, with_cpu: bool) -> None:
        self.peak_rss = max(self.peak_rss, process.memory_info().rss)
        self.hwm = max(self.hwm, hwm_kb(process.pid) * 1024)
        if with_cpu:
            times = process.cpu_times()
            self.cpu = (times.user, times.system, times.children_user, times.children_system)


class TreeSampler(threading.Thread):
    """Samples the dramatiq process tree every 0.2 s: main process, worker processes, their children."""

    def __init__(self, main_pid: int) -> None:
        super().__init__(daemon=True, name="tree-sampler")
        self.main = psutil.Process(main_pid)
        self.workers: dict[int, ProcessPeak] = {}
        self.tools: dict[int, ProcessPeak] = {}
        self.stopping = threading.Event()
        self.lock = threading.Lock()
        self.samples = 0

    def run(self) -> None:
        while not self.stopping.is_set():
            self.sample()
            self.stopping.wait(SAMPLE_INTERVAL)

    def sample(self) -> None:
        with self.lock:
            self.samples += 1
            with contextlib.suppress(psutil.Error):
                for worker in self.main.children():
                    self._record(self.workers, worker, with_cpu=True)
                    with contextlib.suppress(psutil.Error):
                        for child in worker.children(recursive=True):
                            self._record(self.tools, child, with_cpu=False)

    @staticmethod
    def _record(table: dict[int, ProcessPeak], process: psutil.Process, *, with_cpu: bool) -> None:
        with contextlib.suppress(psutil.Error):
            peak = table.get(process.pid)
            if peak is None:
                peak = table[process.pid] = ProcessPeak(process.pid, process.name())
            peak.update(process, with_cpu)

    def cpu_snapshot(self) -> dict[int, tuple[float, float, float, float]]:
        """CPU seconds so far per worker (user, system, reaped children user/system); key 0: main process."""
        self.sample()
        with self.lock:
            snapshot = {pid: peak.cpu for pid, peak in self.workers.items()}
        with contextlib.suppress(psutil.Error):
            times = self.main.cpu_times()
            snapshot[0] = (times.user, times.system, 0.0, 0.0)
        return snapshot

    def stop(self) -> None:
        self.stopping.set()
        if self.is_alive():
            self.join(timeout=5)


class Workers:
    """`manage.py rundramatiq` in its own session, on an emptied broker; always stopped."""

    def __init__(self, env: dict[str, str], log_path: Path) -> None:
        self.env = env
        self.log_path = log_path
        self.process: subprocess.Popen[bytes] | None = None
        self.sampler: TreeSampler | None = None
        self.spawn_seconds = 0.0

    def __enter__(self) -> "Workers":
        reset_broker(self.env)
        started = time.perf_counter()
        with self.log_path.open("wb") as log:
            process = self.process = subprocess.Popen(
                [
                    PYTHON,
                    "manage.py",
                    "rundramatiq",
                    "--processes",
                    str(WORKER_PROCESSES),
                    "--threads",
                    str(WORKER_THREADS),
                ],
                cwd=REPO,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # Ctrl-C reaches us only; we stop the whole group ourselves
            )
        try:
            self._wait_until_ready(process, timeout=120)
            self.spawn_seconds = time.perf_counter() - started
            self.sampler = TreeSampler(process.pid)
            self.sampler.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def _wait_until_ready(self, process: "subprocess.Popen[bytes]", timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.log_path.read_text(errors="replace").count("Worker process is ready for action.") >= (
                WORKER_PROCESSES
            ):
                return
            if process.poll() is not None:
                raise RuntimeError(f"rundramatiq exited with {process.returncode}:\n{self.log_tail()}")
            time.sleep(0.05)
        raise RuntimeError(f"workers not ready after {timeout} s:\n{self.log_tail()}")

    def log_tail(self, lines: int = 30) -> str:
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])

    def stop(self) -> None:
        if self.sampler is not None:
            self.sampler.sample()
            self.sampler.stop()
        if self.process is None or self.process.poll() is not None:
            return
        pid = self.process.pid  # the session (and process group) we started
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(pid, signal.SIGKILL)
            self.process.wait(timeout=10)
        # Whatever is left of the group (a tesseract orphaned by a killed worker).
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pid, signal.SIGKILL)
        reset_broker(self.env)


# --- One document through the workers --------------------------------------------------------------


@dataclass
class Run:
    label: str
    pages: int
    seconds: float  # Document.created_at (enqueue) -> finished_at (completion)
    wall_seconds: float  # before create_document -> completion seen by polling
    start_latency: float  # created_at -> started_at: the start_document message waiting for a worker
    page_rows: list[dict[str, Any]]
    workers: dict[int, ProcessPeak]
    tools: dict[int, ProcessPeak]
    worker_cpu: dict[int, tuple[float, float, float, float]]
    system_busy_cores: float  # mean busy cores over the run, whole machine
    other_cores: float  # of those, cores used outside the worker tree and this process
    main_cpu: float  # CPU seconds of the dramatiq main (supervisor) process during the run
    postgres_cpu: float  # CPU seconds of the PostgreSQL backends serving the benchmark's database
    spawn_seconds: float
    samples: int
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def pages_per_second(self) -> float:
        return self.pages / self.seconds

    @property
    def read_seconds(self) -> float:
        """Enqueue -> the last page stored: conversion and reading, before the extraction passes."""
        last_stored: datetime = max(row["done_at"] for row in self.page_rows)
        created: datetime = self.extra["created_at"]
        return (last_stored - created).total_seconds()

    def worker_peaks(self) -> list[ProcessPeak]:
        return sorted(self.workers.values(), key=lambda p: p.pid)

    def cpu_per_page(self) -> tuple[float, float]:
        """Worker CPU seconds per page: (Python in the workers, their tesseract/poppler children)."""
        own = sum(t[0] + t[1] for t in self.worker_cpu.values())
        children = sum(t[2] + t[3] for t in self.worker_cpu.values())
        return own / self.pages, children / self.pages

    def cpu_bound_ceiling(self) -> float:
        """Pages/s on dedicated cores if every core did nothing but this pipeline's work."""
        own, children = self.cpu_per_page()
        cores: int = psutil.cpu_count()
        return cores / (own + children + self.postgres_cpu / self.pages)

    def stage_mean(self, stage: str) -> float:
        values = [row["timings"].get(stage, 0.0) for row in self.page_rows]
        return statistics.fmean(values) if values else 0.0


def this_process_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def machine_busy() -> float:
    """CPU seconds the whole machine has been busy (guest time is already inside user time)."""
    t = psutil.cpu_times()
    busy: float = t.user + t.nice + t.system + t.irq + t.softirq + t.steal
    return busy


def _postgres_cpu(database: str) -> dict[int, float]:
    """CPU seconds so far of each PostgreSQL backend serving `database` (its process title names it)."""
    found = {}
    for process in psutil.process_iter(["name", "cmdline", "cpu_times"]):
        title = " ".join(process.info["cmdline"] or [])
        if process.info["name"] == "postgres" and f" {database} " in f" {title} " and process.info["cpu_times"]:
            found[process.pid] = process.info["cpu_times"].user + process.info["cpu_times"].system
    return found


def run_document(
    owner: "User", env: dict[str, str], workdir: Path, label: str, name: str, data: bytes, pages: int
) -> Run:
    from django.core.files.uploadedfile import SimpleUploadedFile

    from documents.models import Document
    from documents.services import document_upload

    migrate(env)  # untimed; the code under test may have gained a migration since the last run
    with Workers(env, workdir / f"workers-{label}.log") as workers:
        process, sampler = workers.process, workers.sampler
        assert process is not None and sampler is not None  # started by Workers.__enter__
        cpu_before = sampler.cpu_snapshot()
        system_before = machine_busy()
        self_before = this_process_cpu()
        database = urlsplit(env["DATABASE_URL"]).path.lstrip("/")
        postgres_before = _postgres_cpu(database)
        clock = time.perf_counter()
        document = document_upload(owner, SimpleUploadedFile(name, data, content_type="application/pdf"))
        progress, progressed_at = -1, time.monotonic()
        while True:
            status, done = Document.objects.values_list("status", "pages_done").get(id=document.id)
            if status in Document.FINISHED:
                break
            if done != progress:
                progress, progressed_at = done, time.monotonic()
            elif time.monotonic() - progressed_at > STALL_SECONDS:
                raise RuntimeError(
                    f"{label}: no page finished for {STALL_SECONDS} s ({done} done, status {status}):\n"
                    f"{workers.log_tail()}"
                )
            if process.poll() is not None:
                raise RuntimeError(f"{label}: workers exited:\n{workers.log_tail()}")
            if "Traceback (most recent call last)" in workers.log_path.read_text(errors="replace"):
                # A page that fails and is retried makes the figures meaningless: stop and show why.
                raise RuntimeError(f"{label}: a worker raised:\n{workers.log_tail(60)}")
            time.sleep(0.1)
        wall = time.perf_counter() - clock
        own_cpu = this_process_cpu() - self_before
        busy = machine_busy() - system_before
        postgres_after = _postgres_cpu(database)
        postgres = sum(cpu - postgres_before.get(pid, 0.0) for pid, cpu in postgres_after.items())
        cpu_after = sampler.cpu_snapshot()
        document.refresh_from_db()
        if document.status != Document.Status.COMPLETED:
            raise RuntimeError(f"{label}: document {document.status}: {document.error}\n{workers.log_tail()}")
        # A completed document has all three: this narrows their types.
        assert document.page_count is not None and document.started_at and document.finished_at
        warnings = workers.log_path.read_text(errors="replace").count(" WARNING ")
        per_worker: dict[str, int] = {}
        if "lease_owner" in {f.name for f in document.pages.model._meta.get_fields()}:
            for owner_id in document.pages.values_list("lease_owner", flat=True):
                per_worker[owner_id or "?"] = per_worker.get(owner_id or "?", 0) + 1
        rows = list(document.pages.order_by("number").values("number", "source", "timings", "done_at", "image", "text"))
    worker_cpu = {pid: _cpu_between(cpu_before.get(pid, (0, 0, 0, 0)), cpu_after[pid]) for pid in cpu_after}
    tree_cpu = sum(sum(times) for times in worker_cpu.values())  # workers, their tools, the main process
    main_cpu = sum(worker_cpu.pop(0, (0.0,)))
    return Run(
        label=label,
        pages=document.page_count,
        seconds=(document.finished_at - document.created_at).total_seconds(),
        wall_seconds=wall,
        start_latency=(document.started_at - document.created_at).total_seconds(),
        # Each row keeps its text too: the copy is made before the length is taken, as it always was.
        page_rows=[{**row, "text_chars": len(row["text"])} for row in rows],
        workers=sampler.workers,
        tools=sampler.tools,
        worker_cpu=worker_cpu,
        system_busy_cores=busy / wall,
        other_cores=max(0.0, busy - tree_cpu - own_cpu - postgres) / wall,
        postgres_cpu=postgres,
        main_cpu=main_cpu,
        spawn_seconds=workers.spawn_seconds,
        samples=sampler.samples,
        extra={
            "per_worker": per_worker,
            "warnings": warnings,
            "created_at": document.created_at,
            "started_at": document.started_at,
            "timings": document.timings,
        },
    )


def _cpu_between(
    before: tuple[float, float, float, float], after: tuple[float, float, float, float]
) -> tuple[float, float, float, float]:
    """CPU seconds spent between two snapshots, field by field."""
    return (after[0] - before[0], after[1] - before[1], after[2] - before[2], after[3] - before[3])
