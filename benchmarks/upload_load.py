"""Uploads at peak: many clients uploading at once to the real web server (`manage.py runweb`),
driven by locust as a library (headless, bounded in time, 127.0.0.1 only).

Each client uploads a file of the mix, then watches its document by polling it every 2 s for
up to 10 s, and uploads again. A refusal (429, 503) is followed by a wait of its Retry-After
and the same upload again; anything else that is not 201 counts as an error. The mix: 85 %
one-page black-and-white scans (90 KB), 12 % 30-page born-digital PDFs, 3 % 9 MB grayscale
scans; every upload's bytes are its own.

Reported per scenario (--clients 50,200,1000): p50/p95/p99 upload response time (first
try, then any retry), answers by kind, uploads taken per second, CPU milliseconds per upload
in the web processes, database connections at peak, the web processes' RSS at peak. Then,
with idle workers, the time from an upload's 201 to its first page leased (20 uploads one by
one). The web tier runs alone during the load (no workers): in a fleet they are other hosts.
Each load meets a warm server (`warm_up`, not counted), as a peak does.

Usage: .venv/bin/python benchmarks/upload_load.py [--clients 50,200,1000] [--seconds 60]
"""

import argparse
import json
import math
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import psutil
from engines import IDLE_WAIT_MS
from pipeline_throughput import ensure_database
from sample_documents import born_digital_pdf, dense_scanned_pdf
from upload_body import upload_body
from worker_runs import PYTHON, REPO, reset_broker

DATABASE_URL = "postgres://postgres@127.0.0.1:5432/exora_bench_load"
REDIS_URL = "redis://127.0.0.1:6379/12"
WEB_PROCESSES = 2
POOL_SIZE = 8  # EXORA_DB_POOL_SIZE, by default
GOAL_P95_AT_200 = 2.0
GOAL_START_P95 = 1.0


def environment(data_dir: Path) -> dict[str, str]:
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "exora.settings",
        "DATABASE_URL": DATABASE_URL,
        "EXORA_BROKER": "redis",
        "REDIS_URL": REDIS_URL,
        "EXORA_DATA_DIR": str(data_dir),
        "EXORA_LOG_LEVEL": "WARNING",
        # The people of the test upload more than a person would in an hour.
        "EXORA_API_UPLOADS_PER_HOUR": "100000",
        "EXORA_USER_PAGES_PER_DAY": "10000000",
        "EXORA_WEB_PROCESSES": str(WEB_PROCESSES),
    }
    os.environ.update(env)
    return env


def files(workdir: Path) -> dict[str, Path]:
    """The mix's files, written once; each upload makes its bytes distinct."""
    made = {"scan": dense_scanned_pdf(1, bilevel=True), "pdf30": born_digital_pdf(30), "big": dense_scanned_pdf(12)}
    paths = {}
    for name, content in made.items():
        paths[name] = workdir / f"{name}.pdf"
        paths[name].write_bytes(content)
    return paths


def empty_queue(env: dict[str, str]) -> None:
    """No document left from the load before (each starts from an empty queue), nothing in the broker."""
    from documents.models import Document

    Document.objects.all().delete()
    reset_broker(env)


def people(count: int) -> list[str]:
    """`count` people with an API token each."""
    from django.contrib.auth import get_user_model
    from knox.models import AuthToken

    user_model = get_user_model()
    user_model.objects.filter(username__startswith="load-").delete()
    users = user_model.objects.bulk_create([user_model(username=f"load-{n}") for n in range(count)])
    return [AuthToken.objects.create(user=user)[1] for user in users]


class Sampler(threading.Thread):
    """The web processes' CPU and RSS, and the database's connections, every 200 ms."""

    def __init__(self, web_pid: int, database: str) -> None:
        super().__init__(daemon=True)
        self.web = psutil.Process(web_pid)
        self.database = database
        self.stopping = threading.Event()
        self.peak_rss = 0
        self.peak_connections = 0

    def tree(self) -> list[psutil.Process]:
        return [self.web, *self.web.children(recursive=True)]

    def cpu(self) -> float:
        total = 0.0
        for process in self.tree():
            try:
                total += sum(process.cpu_times()[:2])
            except psutil.NoSuchProcess:
                continue
        return total

    def database_connections(self) -> int:
        """The web processes' open connections to PostgreSQL (port 5432): theirs only, not
        this benchmark's own."""
        count = 0
        for process in self.tree():
            try:
                count += sum(1 for c in process.net_connections("tcp") if c.raddr and c.raddr.port == 5432)
            except psutil.NoSuchProcess:
                continue
        return count

    def run(self) -> None:
        while not self.stopping.is_set():
            rss = sum(p.memory_info().rss for p in self.tree() if p.is_running())
            self.peak_rss = max(self.peak_rss, rss)
            self.peak_connections = max(self.peak_connections, self.database_connections())
            time.sleep(0.2)


def start_web(env: dict[str, str], port: int, log: Path) -> subprocess.Popen[bytes]:
    web = subprocess.Popen(
        [PYTHON, "manage.py", "runweb"], cwd=REPO, env={**env, "EXORA_PORT": str(port)},
        stdout=log.open("wb"), stderr=subprocess.STDOUT, start_new_session=True,
    )  # fmt: skip
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2):
                time.sleep(2)  # every process up
                return web
        except OSError:
            time.sleep(0.3)
    raise RuntimeError(f"the web server did not start:\n{log.read_text()[-2000:]}")


def warm_up(port: int, tokens: list[str], paths: dict[str, Path]) -> None:
    """A server at peak has been serving: its pools hold their database connections, its
    threads and PostgreSQL's backends have run each query once. Three rounds of 40 one-page
    uploads at once bring a fresh one there (they are not counted; their documents stay
    queued, ahead of the load's)."""
    template = paths["scan"].read_bytes()
    with ThreadPoolExecutor(max_workers=40) as pool:
        for _ in range(3):
            list(pool.map(lambda token: _upload(port, token, template), tokens[:40]))
    time.sleep(2)


def stop(process: subprocess.Popen[bytes]) -> None:
    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=30)
    except (ProcessLookupError, subprocess.TimeoutExpired):
        os.killpg(process.pid, signal.SIGKILL)


def scenario(
    clients: int, seconds: int, port: int, tokens: list[str], paths: dict[str, Path], workdir: Path, watch: float = 10
) -> dict:
    """One load: locust in a child process of its own (gevent patches everything it imports)."""
    tokens_file = workdir / "tokens.json"
    tokens_file.write_text(json.dumps(tokens[:clients]))
    out = workdir / f"locust-{clients}.json"
    command = [
        PYTHON, str(Path(__file__).with_name("upload_load_clients.py")),
        "--host", f"http://127.0.0.1:{port}", "--clients", str(clients), "--seconds", str(seconds),
        "--tokens", str(tokens_file), "--files", json.dumps({k: str(v) for k, v in paths.items()}), "--out", str(out),
        "--watch-seconds", str(watch),
    ]  # fmt: skip
    subprocess.run(command, cwd=REPO, check=True, timeout=seconds + 600)
    return json.loads(out.read_text())


def start_latency(env: dict[str, str], port: int, token: str, paths: dict[str, Path], workdir: Path) -> list[float]:
    """Seconds from an upload's 201 to its first page leased, with two idle workers."""
    from processing.models import Attempt

    workers_env = {**env, "EXORA_WORKERS": "2", "dramatiq_worker_timeout": IDLE_WAIT_MS["redis"]}
    log = workdir / "workers.log"
    workers = subprocess.Popen(
        [PYTHON, "manage.py", "runworkers"], cwd=REPO, env=workers_env, stdout=log.open("wb"),
        stderr=subprocess.STDOUT, start_new_session=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 120
        while log.read_text(errors="replace").count("ready for action") < 2 and time.monotonic() < deadline:
            time.sleep(0.2)
        time.sleep(3)
        template = paths["scan"].read_bytes()
        seconds = []
        for _ in range(20):
            document_id = _upload(port, token, template)
            answered = time.time()
            while True:
                attempt = Attempt.objects.filter(job__document_id=document_id, stage=Attempt.Stage.PAGE).first()
                if attempt is not None:
                    seconds.append(attempt.started_at.timestamp() - answered)
                    break
                if time.time() - answered > 60:
                    raise RuntimeError(f"no page started in 60 s:\n{log.read_text()[-2000:]}")
                time.sleep(0.02)
            _wait_until_finished(document_id)  # the workers idle again, as the figure is for idle workers
        return seconds
    finally:
        stop(workers)


def _wait_until_finished(document_id: str, timeout: float = 120) -> None:
    from documents.models import Document

    deadline = time.monotonic() + timeout
    while not Document.objects.filter(id=document_id, status__in=Document.FINISHED).exists():
        if time.monotonic() > deadline:
            raise RuntimeError(f"document {document_id} did not finish in {timeout:.0f} s")
        time.sleep(0.1)
    time.sleep(0.5)


def _upload(port: int, token: str, template: bytes) -> str:
    """Upload `template` with bytes of its own added, through the API; returns the document's id."""
    body, content_type = upload_body(template, "scan.pdf")
    headers = {"Authorization": f"Token {token}", "Content-Type": content_type}
    url = f"http://127.0.0.1:{port}/api/v1/documents/"
    request = urllib.request.Request(url, data=body, method="POST", headers=headers)  # noqa: S310 (localhost)
    with urllib.request.urlopen(request, timeout=60) as response:  # noqa: S310
        return str(json.loads(response.read())["id"])


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))] if ordered else float("nan")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", default="50,200,1000")
    parser.add_argument("--seconds", type=int, default=60, help="each load's length")
    args = parser.parse_args()
    loads = [int(c) for c in args.clients.split(",")]
    workdir = Path(tempfile.mkdtemp(prefix="exora-load-"))
    env = environment(workdir / "data")
    sys.path.insert(0, str(REPO))
    ensure_database(DATABASE_URL, env)
    import django

    django.setup()
    empty_queue(env)
    tokens = people(max(loads))
    paths = files(workdir)
    port = 8765
    sizes = {kind: path.stat().st_size / 2**20 for kind, path in paths.items()}
    print(
        f"Exora upload load - {psutil.cpu_count()} cores; web: runweb, {WEB_PROCESSES} processes; files: one-page "
        f"scan {sizes['scan']:.2f} MB, 30 pages {sizes['pdf30']:.2f} MB, big {sizes['big']:.1f} MB"
    )
    summary = []
    # What an upload alone costs the web processes: 10 clients uploading one after the other,
    # one-page scans only, nobody watching.
    empty_queue(env)
    web = start_web(env, port, workdir / "web-cost.log")
    sampler = Sampler(web.pid, "exora_bench_load")
    cpu_before = sampler.cpu()
    try:
        result = scenario(10, 30, port, tokens, {**paths, "pdf30": paths["scan"], "big": paths["scan"]}, workdir, 0)
    finally:
        cpu_used = sampler.cpu() - cpu_before
        stop(web)
    cost_ms = cpu_used * 1000 / max(result["taken"], 1)
    line = (
        f"cost: {result['taken']} one-page uploads by 10 clients, nobody watching: web CPU {cost_ms:.1f} ms per upload "
        f"(p50 {result['p50']:.3f} s); 1,000 uploads within 2 s need "
        f"{math.ceil(1000 * cost_ms / 1000 / 2)} web processes (one core each)"
    )
    print(line, flush=True)
    summary.append(line)
    for clients in loads:
        empty_queue(env)
        web = start_web(env, port, workdir / f"web-{clients}.log")
        warm_up(port, tokens, paths)
        sampler = Sampler(web.pid, "exora_bench_load")
        sampler.start()
        cpu_before = sampler.cpu()
        try:
            result = scenario(clients, args.seconds, port, tokens, paths, workdir)
        finally:
            cpu_used = sampler.cpu() - cpu_before
            sampler.stopping.set()
            stop(web)
        taken = result["taken"]
        cpu_ms = cpu_used * 1000 / taken if taken else float("nan")
        line = (
            f"{clients:5d} clients: upload p50 {result['p50']:.2f} s, p95 {result['p95']:.2f} s, "
            f"p99 {result['p99']:.2f} s "
            f"(one-page: p95 {result['p95_scan']:.2f} s; in the opening burst, every client at once: "
            f"p95 {result['p95_opening_scan']:.2f} s); answers {result['answers']}; errors {result['errors']}; "
            f"{taken / result['seconds']:.1f} uploads/s taken; web CPU {cpu_ms:.0f} ms per upload and its "
            f"{result['polls'] / max(taken, 1):.1f} polls; "
            f"web DB connections at peak {sampler.peak_connections} (pools {WEB_PROCESSES} x {POOL_SIZE}); "
            f"web RSS at peak {sampler.peak_rss / 2**20:.0f} MB; "
            f"locust CPU {result['locust_cpu']:.0%}"
        )
        print(line, flush=True)
        summary.append(line)
        if clients == 200:
            # The harder reading of "200 at once": the opening burst alone, not diluted by
            # the later, less synchronised rounds.
            met = max(result["p95_scan"], result["p95_opening_scan"]) < GOAL_P95_AT_200
            summary.append(
                f"      one-page p95 at 200 < {GOAL_P95_AT_200} s, over the load and in the opening burst: "
                f"{'MET' if met else 'NOT MET'}"
            )
        if clients == 1000:
            summary.append(f"      errors at 1,000 clients: {sum(result['errors'].values())} (goal 0)")
        time.sleep(5)
    web = start_web(env, port, workdir / "web-start.log")
    try:
        empty_queue(env)
        starts = start_latency(env, port, tokens[0], paths, workdir)
    finally:
        stop(web)
    line = (
        f"upload 201 to first page leased, idle workers, 20 one-page uploads: p50 {statistics.median(starts):.2f} s, "
        f"p95 {percentile(starts, 0.95):.2f} s, slowest {max(starts):.2f} s (goal: p95 < {GOAL_START_P95} s): "
        f"{'MET' if percentile(starts, 0.95) < GOAL_START_P95 else 'NOT MET'}"
    )
    summary.append(line)
    print("\n" + "=" * 100 + "\nSUMMARY\n" + "\n".join(summary) + "\n" + "=" * 100)
    return 0


if __name__ == "__main__":
    sys.exit(main())
