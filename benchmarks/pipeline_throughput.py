"""Throughput and memory of the real processing pipeline: Redis, PostgreSQL, `rundramatiq` workers.

Sections (run them all, or pick with `--only a,b,c,d`):

  a  a dense 50-page scanned PDF (300-DPI letter pages) through the workers: pages/s from
     enqueue to completion, peak RSS of each worker process and of its tesseract/poppler children
  b  the limit: the same pages through bare `tesseract`, two at a time; ratio a/b (goal >= 90 %)
  c  a 200-page born-digital PDF through the workers, display images included (goal >= 50 pages/s)
  d  worker peak RSS for 10, 100 and 300 small scanned pages (goal: 300 within 20 % of 10)
  e  the CPU an idle worker process uses, over a minute (goal on RabbitMQ: <= 0.01 core)

Usage: .venv/bin/python benchmarks/pipeline_throughput.py [--quick] [--only a,b,c,d,e]
           [--broker redis|rabbitmq] [--pgbouncer] [--storage local|s3]

Everything runs against its own database (exora_bench, reached by the workers through PgBouncer
with --pgbouncer), its own Redis db (and RabbitMQ virtual host with --broker rabbitmq), emptied
before every worker run, and a temporary data directory; workers are stopped on exit, Ctrl-C or error.
The documents come from sample_documents.py; worker_runs.py starts the workers and measures a
document's run through them, run_figures.py turns a run into figures, and bare_tesseract.py
measures the limit of section b.
"""

import argparse
import os
import shlex
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import FrameType
from typing import NoReturn, TypedDict
from urllib.parse import urlsplit, urlunsplit

import psutil
from bare_tesseract import BareResult, bare_tesseract
from engines import IDLE_WAIT_MS, broker_env, idle_worker_cores, storage_env, through_pgbouncer
from run_figures import cpu_line, describe_run, tool_peaks
from sample_documents import born_digital_pdf, dense_scanned_pdf, small_scanned_pdf
from worker_runs import PYTHON, REPO, WORKER_PROCESSES, WORKER_THREADS, Run, migrate, run_document

DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/exora_bench"
DEFAULT_REDIS_DB = 13
GOAL_OCR_RATIO = 0.90
GOAL_DIGITAL_PAGES_PER_SECOND = 50.0
GOAL_MEMORY_GROWTH = 0.20
GOAL_IDLE_CORES = 0.01


class Sizes(TypedDict):
    scan_pages: int
    digital_pages: int
    memory_pages: tuple[int, ...]


FULL: Sizes = {"scan_pages": 50, "digital_pages": 200, "memory_pages": (10, 100, 300)}
QUICK: Sizes = {"scan_pages": 10, "digital_pages": 50, "memory_pages": (10, 50, 100)}


# --- Environment, before Django is set up ---------------------------------------------------------


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="fewer pages: a/b 10, c 50, d 10/50/100")
    parser.add_argument("--only", default="a,b,c,d", help="comma-separated sections to run (default: a,b,c,d)")
    parser.add_argument("--broker", choices=("redis", "rabbitmq"), default="redis", help="what carries the work")
    parser.add_argument("--pgbouncer", action="store_true", help="workers reach PostgreSQL through PgBouncer")
    parser.add_argument("--storage", choices=("local", "s3"), default="local", help="where the files live")
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
    unknown = args.sections - set("abcde")
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
        **broker_env(args.broker, redis_url),
        **storage_env(args.storage),
        "EXORA_DATA_DIR": str(data_dir),
        "EXORA_LOG_LEVEL": "INFO",
        "OMP_THREAD_LIMIT": "1",
    }
    os.environ.update(overrides)
    # As `manage.py runworkers` starts them: one message at a time per worker, its idle wait
    # the broker's.
    worker_env = {**os.environ, "dramatiq_queue_prefetch": "1", "dramatiq_worker_timeout": IDLE_WAIT_MS[args.broker]}
    if args.pgbouncer:
        worker_env.update(through_pgbouncer(args.database_url))
    worker_env.update(dict(item.split("=", 1) for item in args.worker_env))
    return worker_env


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

    def terminate(signum: int, _frame: FrameType | None) -> NoReturn:
        raise KeyboardInterrupt(f"signal {signum}")

    signal.signal(signal.SIGTERM, terminate)
    try:
        report(f"Exora pipeline throughput - {psutil.cpu_count()} cores, {psutil.virtual_memory().total >> 30} GB")
        report(
            f"workers: rundramatiq --processes {WORKER_PROCESSES} --threads {WORKER_THREADS}; "
            f"broker {args.broker}; Redis {env['REDIS_URL']}; DB {env['DATABASE_URL']}; data {workdir}"
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
            for tool, seen in tool_peaks(scan_run).items():
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

        if "e" in args.sections:
            report("\n(e) idle worker processes, over 60 s")
            cores, pool = idle_worker_cores(PYTHON, REPO, env, WORKER_PROCESSES, 60.0)
            met = cores <= GOAL_IDLE_CORES if args.broker == "rabbitmq" else True
            line = f"(e) idle CPU per worker process on {args.broker}: {cores:.4f} core ({pool} processes in the pool)"
            if args.broker == "rabbitmq":
                line += f" (goal <= {GOAL_IDLE_CORES}): {verdict(met)}"
            report("  " + line)
            summary.append(line)

        report("\n" + "=" * 100)
        report("SUMMARY")
        report(f"command: {command}")
        report(f"code: {version}")
        if args.worker_env:
            report(f"extra worker environment: {' '.join(args.worker_env)}")
        report(f"machine: {psutil.cpu_count()} cores; workers {WORKER_PROCESSES} processes x {WORKER_THREADS} thread")
        report(
            f"broker: {args.broker}; workers' database {'through PgBouncer' if args.pgbouncer else 'direct'}; "
            f"storage {args.storage}"
        )
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
