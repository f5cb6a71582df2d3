"""How long the operators' dashboard takes to compute its figures, with a week of history.

The snapshot is computed once per refresh interval (EXORA_DASHBOARD_REFRESH_SECONDS, 5 s) for
every viewer and scrape, so its cost must stay well under that interval. This fills a
database with `--documents` documents of `--pages` pages spread over the past week (plus
failed attempts and workers), then times:

  compute   dashboard.services.snapshot.compute(): every figure, from scratch
  metrics   dashboard.metrics.render() on a fresh snapshot (what one scrape costs)
  render    the /ops/live.json view on a fresh snapshot (what one viewer's poll costs)

Usage: .venv/bin/python benchmarks/dashboard_snapshot.py [--documents 5000] [--pages 10] [--runs 5]

It uses its own database (exora_bench_dashboard, dropped and created again) and the stub broker.
"""

import argparse
import os
import random
import statistics
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
DATABASE_URL = "postgres://postgres@127.0.0.1:5432/exora_bench_dashboard"


def setup_django() -> None:
    sys.path.insert(0, str(REPO))
    os.environ["DATABASE_URL"] = DATABASE_URL
    os.environ["EXORA_BROKER"] = "stub"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "exora.settings")
    import psycopg

    with psycopg.connect("postgres://postgres@127.0.0.1:5432/postgres", autocommit=True) as admin:
        admin.execute("DROP DATABASE IF EXISTS exora_bench_dashboard")
        admin.execute("CREATE DATABASE exora_bench_dashboard")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def fill(documents: int, pages: int) -> None:
    from datetime import timedelta

    from django.contrib.auth import get_user_model
    from django.utils import timezone

    from documents.models import Document
    from processing.models import Attempt, Job, Page, WorkerProcess

    rng = random.Random(5)
    owner = get_user_model().objects.create_user("bench", is_staff=True)
    now = timezone.now()
    docs, jobs, rows, attempts = [], [], [], []
    for i in range(documents):
        created = now - timedelta(seconds=rng.uniform(0, 7 * 86400))
        started = created + timedelta(seconds=rng.uniform(0.5, 60))
        failed = rng.random() < 0.03
        finished = started + timedelta(seconds=pages * 2)
        document = Document(
            id=uuid.uuid4(), owner=owner, original_name=f"scan-{i}.pdf", file=f"documents/{i}/original.pdf",
            size_bytes=rng.randint(20_000, 20_000_000), sha256=f"{i:064d}", mime_type="application/pdf",
            status=Document.Status.FAILED if failed else Document.Status.COMPLETED, page_count=pages,
            pages_done=0 if failed else pages, started_at=started, finished_at=finished, created_at=created,
        )  # fmt: skip
        docs.append(document)
        jobs.append(Job(document=document, enqueued_at=created, started_at=started, finished_at=finished))
        for n in range(1, pages + 1):
            seconds = rng.uniform(0.5, 4.0)
            rows.append(
                Page(
                    document=document, number=n, status=Page.Status.DONE, text="lorem ipsum " * 200,
                    mean_confidence=rng.uniform(40, 99),
                    timings={"render": 0.3, "ocr": seconds, "total": seconds + 0.3},
                    done_at=started + timedelta(seconds=2 * n),
                )
            )  # fmt: skip
    Document.objects.bulk_create(docs, batch_size=2000)
    Job.objects.bulk_create(jobs, batch_size=2000)
    Page.objects.bulk_create(rows, batch_size=5000)
    for job in Job.objects.filter(document__status=Document.Status.FAILED).select_related("document"):
        if job.started_at is None:  # every job above was started: this narrows the type
            continue
        attempts.append(
            Attempt(
                job=job, stage="page", page_number=1, worker="bench:1", started_at=job.started_at,
                finished_at=job.finished_at, outcome=Attempt.Outcome.FAILED,
                error_class=rng.choice(["TesseractError", "TimeLimitExceeded", "OSError"]), message="failed",
            )
        )  # fmt: skip
    Attempt.objects.bulk_create(attempts, batch_size=2000)
    for pid in range(8):
        WorkerProcess.objects.create(
            name=f"bench:{pid}", host="bench", pid=pid, queues=["documents", "pages"], threads=1,
            started_at=now, last_heartbeat=now - timedelta(seconds=pid * 10),
        )  # fmt: skip


def timed(work: Callable[[], object], runs: int) -> dict[str, float]:
    seconds = []
    for _ in range(runs):
        started = time.perf_counter()
        work()
        seconds.append(time.perf_counter() - started)
    return {"median": statistics.median(seconds), "max": max(seconds)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--documents", type=int, default=5000)
    parser.add_argument("--pages", type=int, default=10)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--profile", action="store_true", help="print where compute() spends its time")
    args = parser.parse_args()
    setup_django()
    started = time.perf_counter()
    fill(args.documents, args.pages)
    print(f"filled {args.documents} documents x {args.pages} pages in {time.perf_counter() - started:.1f} s")

    from django.db import connection
    from django.test import Client

    from dashboard import metrics
    from dashboard.models import DashboardSnapshot
    from dashboard.services import snapshot

    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    client = Client(SERVER_NAME="localhost")
    from django.contrib.auth import get_user_model

    client.force_login(get_user_model().objects.get(username="bench"))
    snapshot.current()  # warm: the row, the tallies' first slice

    def fresh_then(work: Callable[[], object]) -> Callable[[], None]:
        def run() -> None:
            DashboardSnapshot.objects.filter(pk=1).update(computed_at=None)
            work()

        return run

    if args.profile:
        import cProfile
        import pstats

        profiler = cProfile.Profile()
        profiler.runcall(snapshot.compute)
        pstats.Stats(profiler).sort_stats("cumulative").print_stats("dashboard/selectors", 15)
    results = {
        "compute": timed(lambda: snapshot.compute(), args.runs),
        "metrics (fresh)": timed(fresh_then(metrics.render), args.runs),
        "live.json (fresh)": timed(fresh_then(lambda: client.get("/ops/live.json")), args.runs),
        "live.json (cached)": timed(lambda: client.get("/ops/live.json"), args.runs),
    }
    for name, figures in results.items():
        print(f"{name:20s} median {figures['median'] * 1000:7.0f} ms   max {figures['max'] * 1000:7.0f} ms")


if __name__ == "__main__":
    main()
