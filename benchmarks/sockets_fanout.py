"""How fast a change of the queue reaches every open socket, and how good the ETA is.

fanout (default): `--documents` queued documents of as many users, each user with one socket
open to a real web process (`manage.py runweb`, one process) over the real Redis channel layer. Then `--changes` times:
the head document starts (a page starts being read, as a worker would note it), and
`documents.events.queue_changed()` is called, as after commit in production. Measured:
  latency  from the call to the last socket receiving its new position: p50 and p95
  cpu      CPU seconds the web process spent per change (psutil)
Changes are 1.5 s apart: each socket sends at most one message per document per second.

eta (`--eta`): `--batch` one-page documents uploaded at once for real workers
(`manage.py runworkers`, Redis broker), then the median error of the ETA given at upload
against the actual start of the first page (documents.Prediction).

Usage: .venv/bin/python benchmarks/sockets_fanout.py [--documents 1000] [--changes 10]
       .venv/bin/python benchmarks/sockets_fanout.py --eta [--batch 50]

It uses its own database (exora_bench_sockets, dropped and created again) and Redis db 12.
"""

import argparse
import asyncio
import os
import socket
import statistics
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from documents.models import Document

REPO = Path(__file__).resolve().parent.parent
DATABASE_URL = "postgres://postgres@127.0.0.1:5432/exora_bench_sockets"
REDIS_URL = "redis://127.0.0.1:6379/12"
ENV = {
    "DATABASE_URL": DATABASE_URL,
    "EXORA_EVENTS_REDIS_URL": REDIS_URL,
    "REDIS_URL": REDIS_URL,
    "EXORA_EVENTS_PREFIX": "bench",
    "DJANGO_SETTINGS_MODULE": "exora.settings",
    "EXORA_LOG_LEVEL": "WARNING",
}


def setup_django(broker: str) -> None:
    sys.path.insert(0, str(REPO))
    os.environ.update(ENV, EXORA_BROKER=broker)
    import psycopg
    import redis

    with psycopg.connect("postgres://postgres@127.0.0.1:5432/postgres", autocommit=True) as admin:
        admin.execute("DROP DATABASE IF EXISTS exora_bench_sockets WITH (FORCE)")
        admin.execute("CREATE DATABASE exora_bench_sockets")
    redis.Redis.from_url(REDIS_URL).flushdb()
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def start(args: list[str], log: str, **env: str) -> "subprocess.Popen[bytes]":
    return subprocess.Popen(
        args,
        cwd=REPO,
        env={**os.environ, **env},
        stdout=open(log, "wb"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def queued(users: int) -> "tuple[list[Document], list[str]]":
    """One queued one-page document per user, and each user's session cookie."""
    from django.contrib.auth import get_user_model
    from django.contrib.sessions.backends.db import SessionStore
    from django.utils import timezone

    from documents.models import Document
    from processing.models import Job

    User = get_user_model()
    people = User.objects.bulk_create(User(username=f"bench{n}") for n in range(users))
    now = timezone.now()
    documents = Document.objects.bulk_create(
        Document(
            owner=p,
            original_name=f"{n}.pdf",
            file=f"x/{n}.pdf",
            size_bytes=1,
            sha256=f"{n:064d}",
            mime_type="application/pdf",
            page_count=1,
        )
        for n, p in enumerate(people)
    )
    Job.objects.bulk_create(
        Job(document=d, enqueued_at=now - timedelta(seconds=users - n)) for n, d in enumerate(documents)
    )
    cookies = []
    for person in people:
        session = SessionStore()
        session["_auth_user_id"] = str(person.pk)
        session["_auth_user_backend"] = "django.contrib.auth.backends.ModelBackend"
        session["_auth_user_hash"] = person.get_session_auth_hash()
        session.create()
        cookies.append(f"sessionid={session.session_key}")
    return documents, cookies


def start_head(documents: "list[Document]", index: int) -> None:
    """The head document's first page starts being read, as a worker records it."""
    from django.utils import timezone

    from processing.models import Attempt

    document = documents[index]
    Attempt.objects.create(
        job=document.job, stage=Attempt.Stage.PAGE, page_number=1, worker="bench:1", started_at=timezone.now()
    )


async def fanout(
    port: int, documents: "list[Document]", cookies: list[str], changes: int, web: "subprocess.Popen[bytes]"
) -> dict[str, list[float]]:
    import psutil
    import websockets
    from websockets.typing import Origin

    from documents import events

    latest: dict[int, float] = {}  # socket -> when it last received a message
    origin = Origin(f"http://127.0.0.1:{port}")

    async def listen(n: int, ready: asyncio.Event) -> None:
        async with websockets.connect(
            f"ws://127.0.0.1:{port}/ws/documents/",
            additional_headers={"Cookie": cookies[n]},
            origin=origin,
            open_timeout=120,
        ) as ws:
            await ws.recv()  # the snapshot
            ready.set()
            async for _message in ws:
                latest[n] = time.perf_counter()

    loop = asyncio.get_running_loop()
    tasks, started = [], time.perf_counter()
    for batch in range(0, len(cookies), 50):
        readies = []
        for n in range(batch, min(batch + 50, len(cookies))):
            ready = asyncio.Event()
            readies.append(ready)
            tasks.append(asyncio.create_task(listen(n, ready)))
        await asyncio.wait_for(asyncio.gather(*(r.wait() for r in readies)), timeout=300)
    print(f"{len(cookies)} sockets open with their snapshot in {time.perf_counter() - started:.1f} s")

    server = psutil.Process(web.pid)
    latencies: list[float] = []
    cpu: list[float] = []
    published: list[float] = []
    for change in range(changes):
        await asyncio.sleep(1.5)
        latest.clear()
        expected = len(cookies) - change - 1  # the documents still queued get a new position
        await loop.run_in_executor(None, start_head, documents, change)
        before = server.cpu_times()
        t0 = time.perf_counter()
        await loop.run_in_executor(None, events.queue_changed)
        published.append(time.perf_counter() - t0)
        while len(latest) < expected and time.perf_counter() - t0 < 30:
            await asyncio.sleep(0.005)
        latencies.append(max(latest.values()) - t0)
        after = server.cpu_times()
        cpu.append((after.user + after.system) - (before.user + before.system))
        print(
            f"change {change + 1}: published in {published[-1] * 1000:.0f} ms, "
            f"{len(latest)} sockets heard in {latencies[-1] * 1000:.0f} ms"
        )
    for task in tasks:
        task.cancel()
    return {"latencies": latencies, "cpu": cpu, "published": published}


def run_fanout(options: argparse.Namespace) -> None:
    setup_django("stub")
    documents, cookies = queued(options.documents)
    from documents.models import Document

    documents = list(Document.objects.select_related("job").order_by("job__enqueued_at"))
    port = free_port()
    # One web process (runweb execs uvicorn, which then serves in this very process).
    web = start(
        [sys.executable, "manage.py", "runweb"], "/tmp/bench-web.log", EXORA_PORT=str(port), EXORA_WEB_PROCESSES="1"
    )
    time.sleep(3)
    try:
        result = asyncio.run(fanout(port, documents, cookies, options.changes, web))
    finally:
        web.terminate()
        web.wait(10)
    latencies = sorted(result["latencies"])
    p95 = latencies[min(len(latencies) - 1, round(0.95 * (len(latencies) - 1)))]
    print(
        f"\n{options.documents} documents queued, {options.documents} sockets, {options.changes} queue changes:\n"
        f"  latency to the last socket  p50 {statistics.median(latencies) * 1000:.0f} ms, p95 {p95 * 1000:.0f} ms\n"
        f"  web CPU per change          {statistics.mean(result['cpu']) * 1000:.0f} ms\n"
        f"  of the latency, publishing  p50 {statistics.median(result['published']) * 1000:.0f} ms "
        "(counting the queue, the payloads, the group messages)"
    )


def run_eta(options: argparse.Namespace) -> None:
    setup_django("redis")
    from django.contrib.auth import get_user_model
    from django.core.files.uploadedfile import SimpleUploadedFile

    from documents.models import Document, Prediction
    from documents.services import document_upload
    from tests.factories import born_digital_pdf

    workers = start([sys.executable, "manage.py", "runworkers"], "/tmp/bench-workers.log")
    try:
        time.sleep(8)  # let the workers boot and beat once
        owner = get_user_model().objects.create_user("eta-bench")

        def run_batch(name: str, count: int) -> list[Document]:
            # Many documents from one person go to the bulk lane; that does not change the sums.
            documents = [
                document_upload(
                    owner,
                    SimpleUploadedFile(
                        f"{name}{n}.pdf", born_digital_pdf([[f"{name} document {n}, page {p}"] for p in (1, 2)])
                    ),
                )
                for n in range(count)
            ]
            deadline = time.monotonic() + 600
            while Document.objects.exclude(status__in=Document.FINISHED).exists():
                assert time.monotonic() < deadline, "the batch did not finish in 10 minutes"
                time.sleep(1)
            return documents

        # A first batch measures the time of a page, as a running service has; then the real one.
        run_batch("warm-up", options.warmup)
        measured = run_batch("batch", options.batch)
    finally:
        workers.terminate()
        workers.wait(20)
    predictions = list(
        Prediction.objects.filter(document__in=measured).exclude(actual_start=None).exclude(predicted_start_p50=None)
    )
    errors: list[float] = []
    waits: list[float] = []
    inside = 0
    for p in predictions:
        # None of these is None, by the query (p90 is recorded with p50): this narrows the types.
        if p.actual_start is None or p.predicted_start_p50 is None or p.predicted_start_p90 is None:
            continue
        errors.append(abs((p.actual_start - p.predicted_start_p50).total_seconds()))
        waits.append((p.actual_start - p.document.created_at).total_seconds())
        if p.actual_start <= p.predicted_start_p90:
            inside += 1
    print(
        f"\n{options.batch} documents through real workers: {len(errors)} predictions measured\n"
        f"  median |actual start - predicted p50|  {statistics.median(errors):.1f} s"
        f" (median wait {statistics.median(waits):.1f} s, longest {max(waits):.1f} s)\n"
        f"  started before the p90 bound          {inside}/{len(errors)}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--documents", type=int, default=1000)
    parser.add_argument("--changes", type=int, default=10)
    parser.add_argument("--eta", action="store_true")
    parser.add_argument("--batch", type=int, default=50)
    parser.add_argument("--warmup", type=int, default=10)
    options = parser.parse_args()
    run_eta(options) if options.eta else run_fanout(options)


if __name__ == "__main__":
    main()
