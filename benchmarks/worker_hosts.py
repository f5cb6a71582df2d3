"""Worker hosts that share nothing but the engines: pages/s with one and with two, and the time
to recover a host killed whole.

Each "host" is `manage.py runworkers` with one worker process, a node name, a data dir, a cache
and a temporary dir of its own; the files live in S3 (SeaweedFS, `scripts/services.sh s3`), the
work goes through Redis, the rows through PostgreSQL. This process plays the web host: it
uploads the documents the way the upload view does.

  1  a dense scan read by one worker host: pages/s from upload to the document's completion
  2  the same (other bytes) read by two worker hosts: pages/s, and the pages each read
  3  two hosts reading; one is killed whole (SIGKILL to every process) while it holds pages:
     the seconds until every page it held is claimed again (the goal: the lease time plus one
     recovery interval), and until the document completes, each page read once

Usage: .venv/bin/python benchmarks/worker_hosts.py [--pages 12] [--lease-seconds 30]
Runs on its own database (exora_bench), Redis db 13 and bucket (exora-bench); stops every
host it started.
"""

import argparse
import contextlib
import functools
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import psutil
from engines import broker_env, storage_env
from pipeline_throughput import DEFAULT_DATABASE_URL, DEFAULT_REDIS_DB, ensure_database
from sample_documents import dense_scanned_pdf
from worker_runs import PYTHON, REPO, reset_broker

RECOVERY_INTERVAL_SECONDS = 5.0  # the production default (EXORA_RECOVERY_INTERVAL_SECONDS)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pages", type=int, default=12, help="pages of each scanned document (default 12)")
    parser.add_argument("--lease-seconds", type=int, default=30, help="EXORA_LEASE_SECONDS (default 30, production's)")
    return parser.parse_args()


def configure_environment(workdir: Path, lease_seconds: int) -> dict[str, str]:
    """This process's environment (the web host's) and the one every worker host starts from."""
    os.environ.update(
        {
            "DJANGO_SETTINGS_MODULE": "exora.settings",
            "DATABASE_URL": DEFAULT_DATABASE_URL,
            **broker_env("redis", f"redis://127.0.0.1:6379/{DEFAULT_REDIS_DB}"),
            **storage_env("s3"),
            "EXORA_DATA_DIR": str(workdir / "web"),
            "EXORA_LEASE_SECONDS": str(lease_seconds),
            "EXORA_RECOVERY_INTERVAL_SECONDS": str(RECOVERY_INTERVAL_SECONDS),
            "EXORA_LOG_LEVEL": "INFO",
            "OMP_THREAD_LIMIT": "1",
        }
    )
    return dict(os.environ)


class WorkerHost:
    """`runworkers` with one process, as a host of its own: its node name and its own dirs."""

    def __init__(self, node: str, env: dict[str, str], workdir: Path) -> None:
        root = workdir / node
        for folder in ("data", "cache", "tmp"):
            (root / folder).mkdir(parents=True, exist_ok=True)
        self.node = node
        self.log = root / "workers.log"
        self.env = {
            **env,
            "EXORA_NODE_NAME": node,
            "EXORA_WORKERS": "1",
            "EXORA_WORKER_THREADS": "1",
            "EXORA_DATA_DIR": str(root / "data"),
            "EXORA_CACHE_DIR": str(root / "cache"),
            "TMPDIR": str(root / "tmp"),
        }
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with self.log.open("wb") as log:
            self.process = subprocess.Popen(
                [PYTHON, "manage.py", "runworkers"], cwd=REPO, env=self.env, stdout=log,
                stderr=subprocess.STDOUT, start_new_session=True,
            )  # fmt: skip
        deadline = time.monotonic() + 120
        while "Worker process is ready for action." not in self.log.read_text(errors="replace"):
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"{self.node} did not start:\n{self.log.read_text(errors='replace')[-3000:]}")
            time.sleep(0.1)

    def signal_all(self, signum: int) -> None:
        """`signum` to every process of the host: its whole process group."""
        if self.process is not None and self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signum)

    def stop(self) -> None:
        self.signal_all(signal.SIGTERM)
        if self.process is not None:
            try:
                self.process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.signal_all(signal.SIGKILL)
                self.process.wait(timeout=10)
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self.process.pid, signal.SIGKILL)  # a tesseract orphaned by a killed worker


@contextlib.contextmanager
def worker_hosts(env: dict[str, str], workdir: Path, nodes: list[str]) -> Iterator[dict[str, WorkerHost]]:
    reset_broker(env)
    hosts = {node: WorkerHost(node, env, workdir) for node in nodes}
    try:
        for host in hosts.values():
            host.start()
        yield hosts
    finally:
        for host in hosts.values():
            host.stop()
        reset_broker(env)


def wait_for(condition: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise RuntimeError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(0.1)


def upload(owner, name: str, pages: int, seed: int) -> str:  # type: ignore[no-untyped-def]
    from django.core.files.uploadedfile import SimpleUploadedFile

    from documents.services import document_upload

    data = dense_scanned_pdf(pages, seed=seed)
    return str(document_upload(owner, SimpleUploadedFile(name, data, content_type="application/pdf")).id)


def finished(document_id: str) -> bool:
    from documents.models import Document

    return Document.objects.filter(id=document_id, status__in=Document.FINISHED).exists()


def read_once_each(document_id: str) -> dict[str, int]:
    """The pages each host read, checking the document completed with every page stored once
    and no crash counted against it."""
    from documents.models import Document
    from processing import identity
    from processing.models import Attempt, Page

    document = Document.objects.get(id=document_id)
    if document.status != Document.Status.COMPLETED:
        raise RuntimeError(f"document {document.status}: {document.error}")
    pages = list(Page.objects.filter(document=document))
    if len(pages) != document.page_count or any(p.status != Page.Status.DONE or p.crash_count for p in pages):
        raise RuntimeError(f"pages not read once each: {[(p.number, p.status, p.crash_count) for p in pages]}")
    readers: dict[str, int] = {}
    for attempt in Attempt.objects.filter(job__document_id=document_id, stage="page", outcome="succeeded"):
        node = identity.node_of(attempt.worker)
        readers[node] = readers.get(node, 0) + 1
    return readers


def pages_per_second(document_id: str) -> float:
    from documents.models import Document

    document = Document.objects.get(id=document_id)
    assert document.finished_at is not None and document.page_count
    return document.page_count / (document.finished_at - document.created_at).total_seconds()


def held_by(node: str, document_id: str) -> list[int]:
    from processing import identity
    from processing.models import Page

    running = Page.objects.filter(document_id=document_id, status=Page.Status.RUNNING).exclude(lease_owner="")
    return [page.id for page in running if identity.node_of(page.lease_owner) == node]


def handed_back(page_ids: list[int], node: str) -> bool:
    from processing import identity
    from processing.models import Page

    pages = Page.objects.filter(id__in=page_ids)
    return all(p.status != Page.Status.RUNNING or identity.node_of(p.lease_owner) != node for p in pages)


def main() -> int:
    args = parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="exora-hosts-"))
    env = configure_environment(workdir, args.lease_seconds)
    sys.path.insert(0, str(REPO))
    ensure_database(DEFAULT_DATABASE_URL, env)
    import django

    django.setup()
    from django.contrib.auth import get_user_model

    from documents.models import Document

    Document.objects.all().delete()
    owner, _ = get_user_model().objects.get_or_create(username="benchmark")
    print(f"Exora worker hosts - {psutil.cpu_count()} cores; each host: runworkers with 1 process; S3 storage")
    print(f"a document: a {args.pages}-page dense scan (300-DPI letter pages, ~40 lines each)\n")
    summary = []

    rates = {}
    for count in (1, 2):
        nodes = [f"host-{n}" for n in range(1, count + 1)]
        with worker_hosts(env, workdir, nodes):
            read_id = upload(owner, f"scan-{count}.pdf", args.pages, seed=count)
            wait_for(functools.partial(finished, read_id), 600, "the document to finish")
            readers = read_once_each(read_id)
            rates[count] = pages_per_second(read_id)
        line = f"({count}) {count} worker host(s): {rates[count]:.3f} pages/s; pages read per host {readers}"
        print(line)
        summary.append(line)
    summary.append(f"    two hosts / one host: {rates[2] / rates[1]:.2f}x")

    with worker_hosts(env, workdir, ["host-1", "host-2"]) as hosts:
        document_id = upload(owner, "scan-killed.pdf", args.pages, seed=3)
        wait_for(lambda: bool(held_by("host-2", document_id)), 120, "host-2 holding a page")
        time.sleep(1.0)  # well into its page
        held = held_by("host-2", document_id)
        hosts["host-2"].signal_all(signal.SIGKILL)
        killed_at = time.monotonic()
        wait_for(lambda: handed_back(held, "host-2"), 300, "the killed host's pages to be claimed again")
        recovered = time.monotonic() - killed_at
        wait_for(lambda: finished(document_id), 600, "the document to finish")
        completed = time.monotonic() - killed_at
        readers = read_once_each(document_id)
    limit = args.lease_seconds + RECOVERY_INTERVAL_SECONDS
    summary.append(
        f"(3) a host killed whole holding {len(held)} page(s): claimed again after {recovered:.1f} s "
        f"(goal <= lease {args.lease_seconds} s + recovery interval {RECOVERY_INTERVAL_SECONDS:.0f} s = {limit:.0f} s: "
        f"{'GOAL MET' if recovered <= limit else 'GOAL MISSED'}); document completed {completed:.1f} s after "
        f"the kill, each page stored once, no crash counted; pages per host {readers}"
    )
    print("\n" + "=" * 100 + "\nSUMMARY")
    for line in summary:
        print(line)
    print("=" * 100)
    import shutil

    shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
