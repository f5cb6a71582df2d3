"""The figures of a document's run through the workers (worker_runs.Run): its reads, the gaps
between them on a worker, the tools' memory, its CPU per page, and the lines that describe it."""

import statistics

import psutil
from worker_runs import TOOL_NAMES, WORKER_PROCESSES, ProcessPeak, Run


def reads(run: Run) -> list[tuple[float, float]]:
    """When each read ran, as (start, end) timestamps, in order: a page, or a run of text-layer
    pages (stored together, so sharing `done_at`, each timed with its share of the run)."""
    totals: dict[float, float] = {}
    for row in run.page_rows:
        end = row["done_at"].timestamp()
        totals[end] = totals.get(end, 0.0) + row["timings"].get("total", 0.0)
    return sorted((end - total, end) for end, total in totals.items())


def inter_read_gaps(run: Run) -> list[float]:
    """Seconds each worker spent between finishing one read and starting the next.

    Reads are assigned greedily to the worker free the longest-recently. The gap covers
    storing the pages (DB transaction), acking and fetching messages, and looking the document
    up again.
    """
    ends: list[float | None] = [None] * WORKER_PROCESSES  # when each worker's last read ended
    gaps: list[float] = []
    for start, end in reads(run):
        free = [i for i, e in enumerate(ends) if e is None or e <= start + 0.005]
        if free:
            slot = max(free, key=lambda i: ends[i] or 0.0)
            previous_end = ends[slot]
            if previous_end is not None:
                gaps.append(max(0.0, start - previous_end))
        else:  # every worker has ended a read (no None)
            slot = min(range(len(ends)), key=lambda i: ends[i] or 0.0)
        ends[slot] = end
    return gaps


def tool_peaks(run: Run) -> dict[str, list[ProcessPeak]]:
    """The sampled tesseract/poppler children of a run's workers, by tool."""
    return {tool: [p for p in run.tools.values() if p.name == tool] for tool in TOOL_NAMES}


def cpu_line(run: Run) -> str:
    own, children = run.cpu_per_page()
    return (
        f"CPU per page, enqueue to completion (the extraction passes included): worker Python "
        f"{own * 1000:.0f} ms + tesseract/poppler {children * 1000:.0f} ms "
        f"+ PostgreSQL {run.postgres_cpu / run.pages * 1000:.0f} ms; "
        f"other load on the machine {run.other_cores:.2f} cores; the CPU-bound ceiling it implies "
        f"on {psutil.cpu_count()} dedicated cores: {run.cpu_bound_ceiling():.2f} pages/s to completion"
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
    for tool, seen in tool_peaks(run).items():
        if seen:
            lines.append(
                f"  child {tool}: {len(seen)} processes sampled, peak RSS "
                f"{max(p.peak_rss for p in seen) / mb:.1f} MB sampled, VmHWM {max(p.hwm for p in seen) / mb:.1f} MB"
            )
    stages = ", ".join(
        f"{stage} {run.stage_mean(stage) * 1000:.0f} ms" for stage in ("text_layer", "render", "ocr", "total")
    )
    lines.append(f"  per page (Page.timings, mean): {stages}")
    gaps = inter_read_gaps(run)
    if gaps:
        lines.append(
            f"  between reads on a worker (store, ack, fetch): mean {statistics.fmean(gaps) * 1000:.0f} ms, "
            f"median {statistics.median(gaps) * 1000:.0f} ms, max {max(gaps) * 1000:.0f} ms"
        )
    done = sorted(row["done_at"] for row in run.page_rows)
    first_start = reads(run)[0][0] - run.extra["created_at"].timestamp()
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
