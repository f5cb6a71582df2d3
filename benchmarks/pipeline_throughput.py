"""Throughput and memory of the real processing pipeline: Redis, PostgreSQL, `rundramatiq` workers.

Sections (run them all, or pick with `--only a,b,c,d`):

  a  a dense 50-page scanned PDF (300-DPI letter pages) through the workers: pages/s from
     enqueue to completion, peak RSS of each worker process and of its tesseract/poppler children
  b  the limit: the same pages through bare `tesseract`, two at a time; ratio a/b (goal >= 90 %)
  c  a 200-page born-digital PDF through the workers, display images included (goal >= 50 pages/s)
  d  worker peak RSS for 10, 100 and 300 small scanned pages (goal: 300 within 20 % of 10)

Usage: .venv/bin/python benchmarks/pipeline_throughput.py [--quick] [--only a,b,c,d]

Everything runs against its own database (exora_bench), its own Redis db (flushed before every
worker run) and a temporary data directory; workers are stopped on exit, Ctrl-C or error.
"""

import argparse
import contextlib
import os
import random
import resource
import shlex
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psutil

REPO = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
WORKER_PROCESSES = 2
WORKER_THREADS = 1
SAMPLE_INTERVAL = 0.2  # seconds between psutil samples of the worker process tree
DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/exora_bench"
DEFAULT_REDIS_DB = 13
TOOL_NAMES = ("tesseract", "pdftoppm", "pdftotext", "pdfinfo")
GOAL_OCR_RATIO = 0.90
STALL_SECONDS = 180  # no page finished for this long: the run is stuck
GOAL_DIGITAL_PAGES_PER_SECOND = 50.0
GOAL_MEMORY_GROWTH = 0.20

FULL = {"scan_pages": 50, "digital_pages": 200, "memory_pages": (10, 100, 300)}
QUICK = {"scan_pages": 10, "digital_pages": 50, "memory_pages": (10, 50, 100)}


# --- Environment, before Django is set up ---------------------------------------------------------


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="fewer pages: a/b 10, c 50, d 10/50/100")
    parser.add_argument("--only", default="a,b,c,d", help="comma-separated sections to run (default: a,b,c,d)")
    parser.add_argument(
        "--database-url",
        default=DEFAULT_DATABASE_URL,
        help="created and migrated if missing; its documents are deleted, so its name must contain 'bench'",
    )
    parser.add_argument("--redis-db", type=int, default=DEFAULT_REDIS_DB, help="dedicated Redis db, flushed")
    parser.add_argument(
        "--worker-env",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="extra environment for the workers (experiments, e.g. dramatiq_worker_timeout=100)",
    )
    parser.add_argument("--keep", action="store_true", help="keep the temporary data directory")
    args = parser.parse_args()
    args.sections = {s.strip() for s in args.only.split(",") if s.strip()}
    unknown = args.sections - set("abcd")
    if unknown:
        parser.error(f"unknown sections: {', '.join(sorted(unknown))}")
    if "bench" not in urlsplit(args.database_url).path:
        parser.error("the benchmark deletes every document in its database: use one whose name contains 'bench'")
    for item in args.worker_env:
        if "=" not in item:
            parser.error(f"--worker-env needs KEY=VALUE, got {item!r}")
    return args


def configure_environment(args: argparse.Namespace, data_dir: Path) -> dict[str, str]:
    """Set this process's environment for Django and return the one the workers get."""
    redis_url = f"redis://127.0.0.1:6379/{args.redis_db}"
    overrides = {
        "DJANGO_SETTINGS_MODULE": "exora.settings",
        "DATABASE_URL": args.database_url,
        "EXORA_BROKER": "redis",
        "REDIS_URL": redis_url,
        "EXORA_DATA_DIR": str(data_dir),
        "EXORA_LOG_LEVEL": "INFO",
        "OMP_THREAD_LIMIT": "1",
    }
    os.environ.update(overrides)
    # As `manage.py runworkers` starts them: one message at a time per worker, picked up
    # within 100 ms of the worker being free.
    worker_env = {**os.environ, "dramatiq_queue_prefetch": "1", "dramatiq_worker_timeout": "100"}
    worker_env.update(dict(item.split("=", 1) for item in args.worker_env))
    return worker_env


def migrate(env: dict[str, str]) -> None:
    subprocess.run([PYTHON, "manage.py", "migrate", "--noinput", "-v", "0"], cwd=REPO, env=env, check=True)


def ensure_database(database_url: str, env: dict[str, str]) -> None:
    import psycopg
    from psycopg import sql

    parts = urlsplit(database_url)
    name = parts.path.lstrip("/")
    admin_url = urlunsplit(parts._replace(path="/postgres"))
    with psycopg.connect(admin_url, autocommit=True) as connection:
        exists = connection.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
        if not exists:
            connection.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
            print(f"created database {name}")
    migrate(env)


def flush_redis(redis_url: str) -> None:
    import redis

    client = redis.Redis.from_url(redis_url)
    try:
        client.flushdb()
    finally:
        client.close()


# --- Generated documents ---------------------------------------------------------------------------

NAMES = ["Maria Alvarez", "John Whitaker", "Aisha Rahman", "Peter Novak", "Linda Chen", "Samuel Okafor"]
SECTIONS = [
    "CHIEF COMPLAINT",
    "HISTORY OF PRESENT ILLNESS",
    "PAST MEDICAL HISTORY",
    "MEDICATIONS",
    "REVIEW OF SYSTEMS",
    "PHYSICAL EXAMINATION",
    "LABORATORY DATA",
    "ASSESSMENT AND PLAN",
]
SENTENCES = [
    "The patient is a {age}-year-old {sex} with a history of hypertension and type 2 diabetes mellitus.",
    "{He} presents today for follow-up of chronic kidney disease, stage {stage}, and reports mild fatigue.",
    "Blood pressure {sys}/{dia} mmHg, heart rate {hr} beats per minute, temperature {temp} F, "
    "SpO2 {spo2}% on room air.",
    "{He} denies chest pain, palpitations, orthopnea or paroxysmal nocturnal dyspnea.",
    "Metformin {met} mg twice daily, lisinopril {lis} mg daily and atorvastatin 40 mg at bedtime were continued.",
    "Hemoglobin A1c was {a1c}% on {date}, improved from {a1c2}% three months earlier.",
    "Creatinine {cr} mg/dL with an estimated GFR of {gfr} mL/min/1.73 m2; potassium {k} mmol/L.",
    "Lungs are clear to auscultation bilaterally without wheezes, rales or rhonchi.",
    "Abdomen is soft, non-tender and non-distended, with normal bowel sounds in all four quadrants.",
    "There is trace bilateral pitting edema of the lower extremities to the level of the ankles.",
    "{He} was counseled on a low-sodium diet, regular exercise and home blood pressure monitoring.",
    "Return to clinic in {weeks} weeks with repeat basic metabolic panel and urine albumin-to-creatinine ratio.",
    "Neurological examination is non-focal; cranial nerves II through XII are grossly intact.",
    "Influenza and pneumococcal vaccinations were reviewed and are up to date as of {date}.",
    "An electrocardiogram showed normal sinus rhythm at {hr} bpm with no acute ST-segment changes.",
    "Allergies: penicillin (rash) and sulfonamides (hives); no known latex allergy.",
    "Social history is notable for a {pack}-pack-year smoking history; {he} quit in {year}.",
    "Family history: father with myocardial infarction at age {fage}, mother with breast cancer.",
]


def _fill(template: str, rng: random.Random) -> str:
    male = rng.random() < 0.5
    values = {
        "age": rng.randint(34, 91),
        "sex": "man" if male else "woman",
        "He": "He" if male else "She",
        "he": "he" if male else "she",
        "stage": rng.choice(["2", "3a", "3b"]),
        "sys": rng.randint(112, 168),
        "dia": rng.randint(64, 98),
        "hr": rng.randint(56, 104),
        "temp": f"{rng.uniform(97.2, 99.6):.1f}",
        "spo2": rng.randint(92, 99),
        "met": rng.choice([500, 850, 1000]),
        "lis": rng.choice([5, 10, 20, 40]),
        "a1c": f"{rng.uniform(6.1, 9.8):.1f}",
        "a1c2": f"{rng.uniform(6.5, 10.5):.1f}",
        "date": f"{rng.randint(1, 12):02d}/{rng.randint(1, 28):02d}/{rng.randint(2021, 2025)}",
        "cr": f"{rng.uniform(0.8, 2.4):.2f}",
        "gfr": rng.randint(28, 89),
        "k": f"{rng.uniform(3.5, 5.4):.1f}",
        "weeks": rng.choice([2, 4, 6, 12]),
        "pack": rng.randint(5, 40),
        "year": rng.randint(1995, 2022),
        "fage": rng.randint(45, 70),
    }
    return template.format(**values)


def clinical_note_lines(page: int, fits, rng: random.Random, max_lines: int) -> list[str]:
    """About `max_lines` lines of a progress note, each short enough that `fits(line)` is True."""
    lines = [
        f"PROGRESS NOTE - {rng.choice(NAMES)} - MRN {rng.randint(10**7, 10**8 - 1)} - Page {page}",
        f"Date of service: {rng.randint(1, 12):02d}/{rng.randint(1, 28):02d}/2024   Provider: Dr. R. Iyer, MD",
        "",
    ]
    while len(lines) < max_lines:
        lines.append(rng.choice(SECTIONS) + ":")
        paragraph = " ".join(_fill(rng.choice(SENTENCES), rng) for _ in range(rng.randint(3, 6)))
        line = ""
        for word in paragraph.split():
            candidate = f"{line} {word}".strip()
            if fits(candidate):
                line = candidate
            else:
                lines.append(line)
                line = word
        lines.append(line)
        lines.append("")
    return lines[:max_lines]


def dense_scanned_pdf(pages: int, seed: int = 7) -> bytes:
    """A scanner-like PDF: letter pages at 300 DPI, 40 lines of 12-point text each (~3,500 characters)."""
    import io

    from PIL import ImageFont

    from tests.factories import text_page

    dpi = 300
    font = ImageFont.load_default(size=round(12 * dpi / 72))  # the font text_page draws with
    usable = 8.5 * dpi - 2 * (dpi // 2)
    lines_per_page = int((11 * dpi - 2 * (dpi // 2)) // round(18 * dpi / 72))
    rng = random.Random(seed)
    images = [
        text_page(
            clinical_note_lines(n, lambda s: font.getlength(s) <= usable, rng, lines_per_page),
            dpi=dpi,
            height_in=11.0,
        )
        for n in range(1, pages + 1)
    ]
    buffer = io.BytesIO()
    images[0].save(buffer, "PDF", resolution=dpi, save_all=True, append_images=images[1:])
    return buffer.getvalue()


def born_digital_pdf(pages: int, seed: int = 11) -> bytes:
    """A reportlab PDF with 45 lines of 12-point Helvetica on every page."""
    from reportlab.pdfbase.pdfmetrics import stringWidth

    from tests.factories import born_digital_pdf as render

    rng = random.Random(seed)
    return render(
        [clinical_note_lines(n, lambda s: stringWidth(s, "Helvetica", 12) <= 468, rng, 45) for n in range(1, pages + 1)]
    )


def small_scanned_pdf(pages: int) -> bytes:
    """1-inch-tall 300-DPI pages with one line of text: memory growth, not OCR cost."""
    from tests.factories import scanned_pdf

    return scanned_pdf(
        [[f"Page {n}: patient tolerated the procedure well, vitals stable."] for n in range(1, pages + 1)],
        height_in=1.0,
    )


# --- Worker processes and their memory -------------------------------------------------------------


def _hwm_kb(pid: int) -> int:
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
        self.hwm = max(self.hwm, _hwm_kb(process.pid) * 1024)
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
    """`manage.py rundramatiq` in its own session, on a freshly flushed Redis db; always stopped."""

    def __init__(self, env: dict[str, str], log_path: Path) -> None:
        self.env = env
        self.log_path = log_path
        self.process: subprocess.Popen | None = None
        self.sampler: TreeSampler | None = None
        self.spawn_seconds = 0.0

    def __enter__(self) -> "Workers":
        flush_redis(self.env["REDIS_URL"])
        started = time.perf_counter()
        with self.log_path.open("wb") as log:
            self.process = subprocess.Popen(
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
            self._wait_until_ready(timeout=120)
            self.spawn_seconds = time.perf_counter() - started
            self.sampler = TreeSampler(self.process.pid)
            self.sampler.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def _wait_until_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.log_path.read_text(errors="replace").count("Worker process is ready for action.") >= (
                WORKER_PROCESSES
            ):
                return
            if self.process.poll() is not None:
                raise RuntimeError(f"rundramatiq exited with {self.process.returncode}:\n{self.log_tail()}")
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
        flush_redis(self.env["REDIS_URL"])


# --- One document through the workers --------------------------------------------------------------


@dataclass
class Run:
    label: str
    pages: int
    seconds: float  # Document.created_at (enqueue) -> finished_at (completion)
    wall_seconds: float  # before create_document -> completion seen by polling
    start_latency: float  # created_at -> started_at: the start_document message waiting for a worker
    page_rows: list[dict]
    workers: dict[int, ProcessPeak]
    tools: dict[int, ProcessPeak]
    worker_cpu: dict[int, tuple[float, float, float, float]]
    system_busy_cores: float  # mean busy cores over the run, whole machine
    other_cores: float  # of those, cores used outside the worker tree and this process
    main_cpu: float  # CPU seconds of the dramatiq main (supervisor) process during the run
    postgres_cpu: float  # CPU seconds of the PostgreSQL backends serving the benchmark's database
    spawn_seconds: float
    samples: int
    extra: dict = field(default_factory=dict)

    @property
    def pages_per_second(self) -> float:
        return self.pages / self.seconds

    @property
    def read_seconds(self) -> float:
        """Enqueue -> the last page stored: conversion and reading, before the extraction passes."""
        return (max(row["done_at"] for row in self.page_rows) - self.extra["created_at"]).total_seconds()

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
        return psutil.cpu_count() / (own + children + self.postgres_cpu / self.pages)

    def stage_mean(self, stage: str) -> float:
        values = [row["timings"].get(stage, 0.0) for row in self.page_rows]
        return statistics.fmean(values) if values else 0.0


def _own_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _machine_busy() -> float:
    """CPU seconds the whole machine has been busy (guest time is already inside user time)."""
    t = psutil.cpu_times()
    return t.user + t.nice + t.system + t.irq + t.softirq + t.steal


def _postgres_cpu(database: str) -> dict[int, float]:
    """CPU seconds so far of each PostgreSQL backend serving `database` (its process title names it)."""
    found = {}
    for process in psutil.process_iter(["name", "cmdline", "cpu_times"]):
        title = " ".join(process.info["cmdline"] or [])
        if process.info["name"] == "postgres" and f" {database} " in f" {title} " and process.info["cpu_times"]:
            found[process.pid] = process.info["cpu_times"].user + process.info["cpu_times"].system
    return found


def run_document(owner, env: dict[str, str], workdir: Path, label: str, name: str, data: bytes, pages: int) -> Run:
    from django.core.files.uploadedfile import SimpleUploadedFile

    from documents.models import Document
    from documents.services import create_document

    migrate(env)  # untimed; the code under test may have gained a migration since the last run
    with Workers(env, workdir / f"workers-{label}.log") as workers:
        cpu_before = workers.sampler.cpu_snapshot()
        system_before = _machine_busy()
        self_before = _own_cpu()
        database = urlsplit(env["DATABASE_URL"]).path.lstrip("/")
        postgres_before = _postgres_cpu(database)
        clock = time.perf_counter()
        document = create_document(owner, SimpleUploadedFile(name, data, content_type="application/pdf"))
        progress, progressed_at = -1, time.monotonic()
        while True:
            status, done = Document.objects.filter(id=document.id).values_list("status", "pages_done").first()
            if status in Document.FINISHED:
                break
            if done != progress:
                progress, progressed_at = done, time.monotonic()
            elif time.monotonic() - progressed_at > STALL_SECONDS:
                raise RuntimeError(
                    f"{label}: no page finished for {STALL_SECONDS} s ({done} done, status {status}):\n"
                    f"{workers.log_tail()}"
                )
            if workers.process.poll() is not None:
                raise RuntimeError(f"{label}: workers exited:\n{workers.log_tail()}")
            if "Traceback (most recent call last)" in workers.log_path.read_text(errors="replace"):
                # A page that fails and is retried makes the figures meaningless: stop and show why.
                raise RuntimeError(f"{label}: a worker raised:\n{workers.log_tail(60)}")
            time.sleep(0.1)
        wall = time.perf_counter() - clock
        own_cpu = _own_cpu() - self_before
        busy = _machine_busy() - system_before
        postgres_after = _postgres_cpu(database)
        postgres = sum(cpu - postgres_before.get(pid, 0.0) for pid, cpu in postgres_after.items())
        cpu_after = workers.sampler.cpu_snapshot()
        document.refresh_from_db()
        if document.status != Document.Status.COMPLETED:
            raise RuntimeError(f"{label}: document {document.status}: {document.error}\n{workers.log_tail()}")
        warnings = workers.log_path.read_text(errors="replace").count(" WARNING ")
        per_worker: dict[str, int] = {}
        if "lease_owner" in {f.name for f in document.pages.model._meta.get_fields()}:
            for owner_id in document.pages.values_list("lease_owner", flat=True):
                per_worker[owner_id or "?"] = per_worker.get(owner_id or "?", 0) + 1
        rows = list(document.pages.order_by("number").values("number", "source", "timings", "done_at", "image", "text"))
    worker_cpu = {
        pid: tuple(
            after - before for after, before in zip(cpu_after[pid], cpu_before.get(pid, (0, 0, 0, 0)), strict=True)
        )
        for pid in cpu_after
    }
    tree_cpu = sum(sum(times) for times in worker_cpu.values())  # workers, their tools, the main process
    main_cpu = sum(worker_cpu.pop(0, (0.0,)))
    return Run(
        label=label,
        pages=document.page_count,
        seconds=(document.finished_at - document.created_at).total_seconds(),
        wall_seconds=wall,
        start_latency=(document.started_at - document.created_at).total_seconds(),
        page_rows=[{**row, "text_chars": len(row.pop("text"))} for row in rows],
        workers=workers.sampler.workers,
        tools=workers.sampler.tools,
        worker_cpu=worker_cpu,
        system_busy_cores=busy / wall,
        other_cores=max(0.0, busy - tree_cpu - own_cpu - postgres) / wall,
        postgres_cpu=postgres,
        main_cpu=main_cpu,
        spawn_seconds=workers.spawn_seconds,
        samples=workers.sampler.samples,
        extra={
            "per_worker": per_worker,
            "warnings": warnings,
            "created_at": document.created_at,
            "started_at": document.started_at,
            "timings": document.timings,
        },
    )


def inter_page_gaps(run: Run) -> list[float]:
    """Seconds each worker spent between finishing one page's read and starting the next.

    A page occupies [done_at - timings.total, done_at] on some worker; intervals are assigned
    greedily to the worker free the longest-recently. The gap covers storing the page (DB
    transaction), acking and fetching messages, and looking the document up again.
    """
    intervals = sorted(
        (row["done_at"].timestamp() - row["timings"].get("total", 0.0), row["done_at"].timestamp())
        for row in run.page_rows
    )
    ends = [None] * WORKER_PROCESSES
    gaps = []
    for start, end in intervals:
        free = [i for i, e in enumerate(ends) if e is None or e <= start + 0.005]
        if free:
            slot = max(free, key=lambda i: ends[i] or 0.0)
            if ends[slot] is not None:
                gaps.append(max(0.0, start - ends[slot]))
        else:
            slot = min(range(len(ends)), key=lambda i: ends[i])
        ends[slot] = end
    return gaps


def cpu_line(run: Run) -> str:
    own, children = run.cpu_per_page()
    return (
        f"CPU per page: worker Python {own * 1000:.0f} ms + tesseract/poppler {children * 1000:.0f} ms "
        f"+ PostgreSQL {run.postgres_cpu / run.pages * 1000:.0f} ms; "
        f"other load on the machine {run.other_cores:.2f} cores; "
        f"CPU-bound ceiling on {psutil.cpu_count()} dedicated cores {run.cpu_bound_ceiling():.2f} pages/s"
    )


def describe_run(run: Run) -> list[str]:
    mb = 1024 * 1024
    lines = [
        f"  pages: {run.pages}   enqueue -> completion: {run.seconds:.2f} s   => {run.pages_per_second:.2f} pages/s",
        f"  (wall incl. upload/hash/store of the PDF: {run.wall_seconds:.2f} s; "
        f"workers spawned and ready in {run.spawn_seconds:.1f} s, not counted)",
    ]
    for peak in run.worker_peaks():
        user, system, child_user, child_system = run.worker_cpu.get(peak.pid, (0, 0, 0, 0))
        lines.append(
            f"  worker pid {peak.pid}: peak RSS {peak.peak_rss / mb:.1f} MB sampled, VmHWM {peak.hwm / mb:.1f} MB; "
            f"CPU during run: self {user + system:.1f} s, children {child_user + child_system:.1f} s"
        )
    for tool in TOOL_NAMES:
        seen = [p for p in run.tools.values() if p.name == tool]
        if seen:
            lines.append(
                f"  child {tool}: {len(seen)} processes sampled, peak RSS "
                f"{max(p.peak_rss for p in seen) / mb:.1f} MB sampled, VmHWM {max(p.hwm for p in seen) / mb:.1f} MB"
            )
    stages = ", ".join(
        f"{stage} {run.stage_mean(stage) * 1000:.0f} ms" for stage in ("text_layer", "render", "ocr", "total")
    )
    lines.append(f"  per page (Page.timings, mean): {stages}")
    gaps = inter_page_gaps(run)
    if gaps:
        lines.append(
            f"  between pages on a worker (store, ack, fetch): mean {statistics.fmean(gaps) * 1000:.0f} ms, "
            f"median {statistics.median(gaps) * 1000:.0f} ms, max {max(gaps) * 1000:.0f} ms"
        )
    done = sorted(row["done_at"] for row in run.page_rows)
    first = min(run.page_rows, key=lambda row: row["done_at"])
    first_start = (first["done_at"] - run.extra["created_at"]).total_seconds() - first["timings"].get("total", 0)
    tail = (done[-1] - done[-2]).total_seconds() if len(done) > 1 else 0.0
    busy = sum(row["timings"].get("total", 0.0) for row in run.page_rows)
    own, children = run.cpu_per_page()
    capacity = WORKER_PROCESSES * run.seconds
    if run.extra["per_worker"]:
        lines.append(f"  pages per worker (Page.lease_owner): {sorted(run.extra['per_worker'].values(), reverse=True)}")
    lines += [
        f"  start_document picked up {run.start_latency * 1000:.0f} ms after enqueue; "
        f"first page read started {first_start * 1000:.0f} ms after enqueue; "
        f"last page alone on one worker for {tail * 1000:.0f} ms",
        f"  worker time inside read_page: {busy:.1f} s of {capacity:.1f} s capacity ({busy / capacity:.0%}); "
        f"machine busy {run.system_busy_cores:.2f} of {psutil.cpu_count()} cores",
        f"  CPU per page: worker Python {own * 1000:.0f} ms + tesseract/poppler children {children * 1000:.0f} ms; "
        f"PostgreSQL {run.postgres_cpu / run.pages * 1000:.0f} ms; dramatiq main process {run.main_cpu:.1f} s in all",
        f"  other load: {run.other_cores:.2f} cores busy outside this benchmark's processes"
        + (" - WARNING: the machine was shared, throughput figures are low" if run.other_cores > 0.15 else ""),
        f"  Document.timings: {run.extra['timings']}   psutil samples: {run.samples}; "
        f"warnings in the worker log: {run.extra['warnings']}",
    ]
    return lines


# --- Bare tesseract --------------------------------------------------------------------------------


@dataclass
class BareResult:
    pages: int
    seconds: float
    page_seconds: list[float]
    page_cpu: list[float]  # CPU seconds of each tesseract run (rusage)
    peak_rss_kb: int  # highest VmHWM, read every 50 ms while each tesseract runs
    other_cores: float  # cores busy outside this process and its tesseracts during the run


def bare_tesseract(pdf: Path, workdir: Path, pages: int) -> BareResult:
    images = workdir / "pgm"
    images.mkdir(exist_ok=True)
    subprocess.run(["pdftoppm", "-gray", "-r", "300", str(pdf), str(images / "p")], check=True)  # untimed
    files = sorted(images.glob("*.pgm"))
    if len(files) != pages:
        raise RuntimeError(f"expected {pages} rendered pages, got {len(files)}")
    env = {**os.environ, "OMP_THREAD_LIMIT": "1"}

    def read(path: Path) -> tuple[float, float, int]:
        # Not rusage's ru_maxrss: after vfork+exec it also counts this (large) Python process.
        started = time.perf_counter()
        process = subprocess.Popen(
            ["tesseract", str(path), "-", "--psm", "3", "--dpi", "300", "tsv"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env=env,
        )
        hwm = 0
        try:
            while True:
                pid, status, usage = os.wait4(process.pid, os.WNOHANG)
                if pid:
                    break
                hwm = max(hwm, _hwm_kb(process.pid))
                time.sleep(0.05)
        except BaseException:
            process.kill()
            process.wait()
            raise
        process.returncode = os.waitstatus_to_exitcode(status)
        if process.returncode != 0:
            raise RuntimeError(f"tesseract failed on {path} ({process.returncode})")
        return time.perf_counter() - started, usage.ru_utime + usage.ru_stime, hwm

    busy_before, own_before = _machine_busy(), _own_cpu()
    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=WORKER_PROCESSES) as pool:
        results = list(pool.map(read, files))
    seconds = time.perf_counter() - started
    other = _machine_busy() - busy_before - (_own_cpu() - own_before) - sum(r[1] for r in results)
    return BareResult(
        pages,
        seconds,
        page_seconds=[r[0] for r in results],
        page_cpu=[r[1] for r in results],
        peak_rss_kb=max(r[2] for r in results),
        other_cores=max(0.0, other) / seconds,
    )


# --- Main ------------------------------------------------------------------------------------------


def code_version() -> str:
    """The commit under test, and how many tracked files differ from it (others may be mid-edit)."""
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True, text=True)
        changed = subprocess.run(["git", "diff", "--name-only", "HEAD"], cwd=REPO, capture_output=True, text=True)
    except OSError:
        return "unknown (no git)"
    files = [f for f in changed.stdout.splitlines() if f.strip()]
    return (
        f"{head.stdout.strip()} + uncommitted changes in {len(files)} tracked files" if files else head.stdout.strip()
    )


def verdict(met: bool) -> str:
    return "GOAL MET" if met else "GOAL MISSED"


def main() -> int:
    args = parse_args()
    sizes = QUICK if args.quick else FULL
    command = shlex.join(getattr(sys, "orig_argv", [PYTHON, *sys.argv]))
    workdir = Path(tempfile.mkdtemp(prefix="exora-bench-"))
    env = configure_environment(args, workdir / "data")
    sys.path.insert(0, str(REPO))
    summary: list[str] = []
    version = code_version()

    def report(line: str = "") -> None:
        print(line, flush=True)

    def terminate(signum, _frame):
        raise KeyboardInterrupt(f"signal {signum}")

    signal.signal(signal.SIGTERM, terminate)
    try:
        report(f"Exora pipeline throughput - {psutil.cpu_count()} cores, {psutil.virtual_memory().total >> 30} GB")
        report(
            f"workers: rundramatiq --processes {WORKER_PROCESSES} --threads {WORKER_THREADS}; "
            f"Redis {env['REDIS_URL']}; DB {args.database_url}; data {workdir}"
        )
        report(f"code: {version}")
        if args.worker_env:
            report(f"extra worker environment: {' '.join(args.worker_env)}")
        ensure_database(args.database_url, env)

        import django

        django.setup()
        from django.contrib.auth import get_user_model

        from documents.models import Document

        # Every document left in this database (an interrupted run's, say) goes: the workers'
        # recovery loop would otherwise re-send its pages, whose files went with their temp dir.
        Document.objects.all().delete()
        owner, _ = get_user_model().objects.get_or_create(username="benchmark")

        scan_run: Run | None = None
        bare: BareResult | None = None
        if args.sections & {"a", "b"}:
            clock = time.perf_counter()
            scan = dense_scanned_pdf(sizes["scan_pages"])
            scan_path = workdir / "scan.pdf"
            scan_path.write_bytes(scan)
            report(
                f"\ngenerated a {sizes['scan_pages']}-page scanned PDF ({len(scan) / 1e6:.1f} MB, 300-DPI letter "
                f"pages, ~40 lines of 12-pt clinical text each) in {time.perf_counter() - clock:.1f} s"
            )
        if "a" in args.sections:
            report(f"\n(a) {sizes['scan_pages']}-page dense scan through the workers")
            scan_run = run_document(owner, env, workdir, "a", "scan.pdf", scan, sizes["scan_pages"])
            for line in describe_run(scan_run):
                report(line)
            chars = statistics.fmean(row["text_chars"] for row in scan_run.page_rows)
            report(f"  OCR read {chars:.0f} characters per page on average")
            summary.append(f"(a) scanned {scan_run.pages} pages end to end: {scan_run.pages_per_second:.3f} pages/s")
            summary.append("    " + cpu_line(scan_run))
            for peak in scan_run.worker_peaks():
                summary.append(
                    f"    worker {peak.pid} peak RSS {peak.peak_rss / 2**20:.1f} MB (VmHWM {peak.hwm / 2**20:.1f} MB)"
                )
            for tool in TOOL_NAMES:
                seen = [p for p in scan_run.tools.values() if p.name == tool]
                if seen:
                    summary.append(
                        f"    child {tool}: peak RSS {max(p.peak_rss for p in seen) / 2**20:.1f} MB "
                        f"(VmHWM {max(p.hwm for p in seen) / 2**20:.1f} MB, {len(seen)} sampled)"
                    )
        if "b" in args.sections:
            report(f"\n(b) the same {sizes['scan_pages']} pages through bare tesseract, two at a time")
            bare = bare_tesseract(scan_path, workdir, sizes["scan_pages"])
            per_page = statistics.fmean(bare.page_seconds)
            bare_cpu = statistics.fmean(bare.page_cpu)
            report(
                f"  {bare.pages} pages in {bare.seconds:.2f} s => {bare.pages / bare.seconds:.3f} pages/s "
                f"(mean {per_page:.2f} s wall, {bare_cpu:.2f} s CPU per page; "
                f"tesseract peak RSS {bare.peak_rss_kb / 1024:.1f} MB)"
            )
            report(
                f"  other load: {bare.other_cores:.2f} cores busy outside this benchmark's processes"
                + (" - WARNING: the machine was shared" if bare.other_cores > 0.15 else "")
            )
            summary.append(
                f"(b) bare tesseract: {bare.pages / bare.seconds:.3f} pages/s, {bare_cpu:.2f} s CPU per page "
                f"(tesseract peak RSS {bare.peak_rss_kb / 1024:.1f} MB; other load {bare.other_cores:.2f} cores)"
            )
            if scan_run is not None:
                ratio = scan_run.pages_per_second / (bare.pages / bare.seconds)
                own, children = scan_run.cpu_per_page()
                pipeline_cpu = own + children + scan_run.postgres_cpu / scan_run.pages
                cpu_ratio = bare_cpu / pipeline_cpu
                report(
                    f"  pipeline OCR step {scan_run.stage_mean('ocr'):.2f} s per page vs bare {per_page:.2f} s; "
                    f"pipeline CPU per page {pipeline_cpu:.2f} s (PostgreSQL included) vs bare {bare_cpu:.2f} s"
                )
                line = f"    ratio end to end / bare: {ratio:.1%} (goal >= {GOAL_OCR_RATIO:.0%}): "
                line += verdict(ratio >= GOAL_OCR_RATIO)
                report(line)
                summary.append(line)
                line = (
                    f"    CPU-per-page ratio bare / pipeline: {cpu_ratio:.1%} (the same comparison, "
                    "insensitive to other load on the machine)"
                )
                report(line)
                summary.append(line)
        if "c" in args.sections:
            pages = sizes["digital_pages"]
            clock = time.perf_counter()
            digital = born_digital_pdf(pages)
            report(
                f"\n(c) {pages}-page born-digital PDF through the workers "
                f"(generated, {len(digital) / 1e6:.1f} MB, in {time.perf_counter() - clock:.1f} s)"
            )
            run = run_document(owner, env, workdir, "c", "digital.pdf", digital, pages)
            for line in describe_run(run):
                report(line)
            sources = {row["source"] for row in run.page_rows}
            images = sum(1 for row in run.page_rows if row["image"])
            report(f"  page sources: {sorted(sources)}; display images stored: {images} of {run.pages}")
            read_rate = run.pages / run.read_seconds
            met = read_rate >= GOAL_DIGITAL_PAGES_PER_SECOND
            line = (
                f"(c) born-digital {run.pages} pages read incl. display images: {read_rate:.1f} pages/s "
                f"(goal >= {GOAL_DIGITAL_PAGES_PER_SECOND:.0f}): {verdict(met)}"
            )
            report("  " + line)
            summary.append(line)
            line = (
                f"    then the extraction passes (issue 6, one message over the whole document): "
                f"{run.seconds - run.read_seconds:.1f} s; upload to completed {run.pages_per_second:.1f} pages/s"
            )
            report(line)
            summary.append(line)
            summary.append("    " + cpu_line(run))
            summary.append(
                f"    start_document pickup {run.start_latency * 1000:.0f} ms; "
                f"per page text_layer {run.stage_mean('text_layer') * 1000:.0f} ms, "
                f"render {run.stage_mean('render') * 1000:.0f} ms"
            )
        if "d" in args.sections:
            report(
                "\n(d) worker memory by page count - SMALL pages (1 inch tall, one line of text each): this "
                "measures memory growth with the number of pages, not OCR cost"
            )
            peaks: dict[int, int] = {}
            for pages in sizes["memory_pages"]:
                run = run_document(
                    owner, env, workdir, f"d{pages}", f"small-{pages}.pdf", small_scanned_pdf(pages), pages
                )
                # VmHWM is the kernel's own peak (nothing between samples is missed); the sampled
                # RSS is shown beside it.
                peaks[pages] = max(max(p.hwm, p.peak_rss) for p in run.worker_peaks())
                per_worker = ", ".join(
                    f"{max(p.hwm, p.peak_rss) / 2**20:.1f} MB (sampled {p.peak_rss / 2**20:.1f})"
                    for p in run.worker_peaks()
                )
                tesseract = [p for p in run.tools.values() if p.name == "tesseract"]
                tesseract_peak = max((max(p.hwm, p.peak_rss) for p in tesseract), default=0)
                report(
                    f"  {pages:4d} pages: {run.pages_per_second:5.2f} pages/s; worker peak RSS {per_worker}; "
                    f"tesseract {tesseract_peak / 2**20:.1f} MB; other load {run.other_cores:.2f} cores"
                )
                summary.append(f"(d) {pages:4d} small pages: worker peak RSS {per_worker}")
            smallest, largest = min(peaks), max(peaks)
            growth = peaks[largest] / peaks[smallest] - 1
            line = (
                f"    {largest}-page vs {smallest}-page highest worker peak RSS: {growth:+.1%} "
                f"(goal within {GOAL_MEMORY_GROWTH:.0%}): {verdict(abs(growth) <= GOAL_MEMORY_GROWTH)}"
            )
            report(line)
            summary.append(line)

        report("\n" + "=" * 100)
        report("SUMMARY")
        report(f"command: {command}")
        report(f"code: {version}")
        if args.worker_env:
            report(f"extra worker environment: {' '.join(args.worker_env)}")
        report(f"machine: {psutil.cpu_count()} cores; workers {WORKER_PROCESSES} processes x {WORKER_THREADS} thread")
        for line in summary:
            report(line)
        report("=" * 100)
        return 0
    except KeyboardInterrupt as exc:
        print(f"\ninterrupted ({exc or 'Ctrl-C'}); workers stopped", file=sys.stderr)
        return 130
    finally:
        if args.keep:
            print(f"kept {workdir}", file=sys.stderr)
        else:
            import shutil

            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
