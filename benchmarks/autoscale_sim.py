"""A day of uploads replayed through KEDA's autoscaling on Exora's own capacity figure, against
fixed fleets: the wait (upload to first page started) and the worker-hours.

    .venv/bin/python benchmarks/autoscale_sim.py [--page-seconds 1.6] [--startup-seconds 45] ...

The day (issue 13): 10,000 uploads of 30 pages on average (lognormal: median 18, one in twenty
over 100 pages, which go to the bulk lane), 400 uploads an hour at the curve's peak and one
hour (10:00) at 1,000. Those three figures leave no room for a quiet night: 23 hours at 400
make 9,200, so the other hours must average 391 and the curve only dips to 383 an hour.
Every page is OCR at 1.6 s of one worker process (benchmarks/pipeline_throughput.py: bare
Tesseract ~1.59 s of CPU per dense 300-DPI page, the pipeline within a few per cent of it).

The autoscaler is what deploy/kubernetes/base/autoscaling.yaml sets up: KEDA's prometheus
trigger on exora_workers_needed (the figure `dashboard.selectors.capacity.recommendation`
computes, called here as it is, from what the service would measure) averaged over 5
minutes, pods of 2 worker processes. benchmarks/autoscale_model.py has the model and its simplifications.

Goal: p95 wait under EXORA_TARGET_WAIT_SECONDS (30 s) outside the spike's first 10 minutes,
with fewer worker-hours than the smallest fixed fleet that meets the same wait. Seeded: the
same arguments give the same figures. Prints them; asserts nothing.
"""

import argparse
import dataclasses
import math
import os
import random
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from autoscale_model import DAY, HOUR, Autoscaler, Day, Result, Service, Simulation, make_uploads  # noqa: E402

from dashboard.figures import Measurements  # noqa: E402

FIXED_FLEETS = (5, 10, 20)
SPIKE_GRACE = 600.0  # the spike's first 10 minutes, left out of the goal


def capacity_figure() -> Callable[[Measurements, int, int, float], int]:
    """The dashboard's recommendation, from its own module: it imports Django's models, so
    Django is set up first (in-memory broker; nothing is read from a database)."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "exora.settings")
    os.environ.setdefault("EXORA_BROKER", "stub")
    os.environ.setdefault("EXORA_SECRET_KEY", "autoscale-sim")  # none written into the data dir
    import django

    django.setup()
    from dashboard.selectors.capacity import recommendation

    def figure(measured: Measurements, slots: int, threads: int, target: float) -> int:
        return recommendation(measured, slots, threads, target)["workers_needed"]

    return figure


def percentile(values: Sequence[float], share: float) -> float:
    """Nearest rank: the smallest value at least `share` of the values do not exceed."""
    ordered = sorted(values)
    return ordered[min(max(math.ceil(share * len(ordered)) - 1, 0), len(ordered) - 1)]


@dataclasses.dataclass(frozen=True)
class Figures:
    name: str
    p50: float
    p95: float
    p99: float
    p95_outside: float  # outside the spike's first 10 minutes
    p99_outside: float
    worker_hours: float
    most_processes: int

    def meets(self, goal: float) -> bool:
        return self.p95_outside < goal


def figures(name: str, result: Result, day: Day) -> Figures:
    grace = (day.spike_start, day.spike_start + SPIKE_GRACE)
    outside = [w for w, t in zip(result.waits, result.arrivals, strict=True) if not grace[0] <= t < grace[1]]
    return Figures(
        name,
        percentile(result.waits, 0.50),
        percentile(result.waits, 0.95),
        percentile(result.waits, 0.99),
        percentile(outside, 0.95),
        percentile(outside, 0.99),
        result.worker_hours,
        result.max_processes,
    )


class Runs:
    """The day through each fleet, the fixed ones run once each."""

    def __init__(self, day: Day, service: Service, figure: Callable[..., int], seed: int) -> None:
        self.day, self.service, self.figure, self.seed = day, service, figure, seed
        self.documents = make_uploads(day, random.Random(seed), warm_up=HOUR)
        self.fixed_runs: dict[int, Figures] = {}

    def fixed(self, processes: int) -> Figures:
        if processes not in self.fixed_runs:
            simulation = Simulation(self.documents, self.service, random.Random(self.seed), processes=processes)
            self.fixed_runs[processes] = figures(f"fixed {processes}", simulation.run(), self.day)
        return self.fixed_runs[processes]

    def scaled(self, name: str, scaler: Autoscaler) -> Figures:
        rng = random.Random(self.seed)
        simulation = Simulation(self.documents, self.service, rng, autoscaler=scaler, figure=self.figure)
        return figures(name, simulation.run(), self.day)

    def smallest_fixed_fleet(self, goal: float) -> int:
        """The fewest processes a fixed fleet needs to meet the goal (waits only fall with more)."""
        low, high = 1, 64
        while low < high:
            middle = (low + high) // 2
            low, high = (low, middle) if self.fixed(middle).meets(goal) else (middle + 1, high)
        return low


def row(f: Figures, verdict: str = "") -> str:
    def seconds(value: float) -> str:
        return f"{value:8.1f}" if value < 10_000 else f"{value / HOUR:7.1f}h"

    cells = (f.p50, f.p95, f.p99, f.p95_outside, f.p99_outside)
    return (
        f"{f.name:<38}"
        + "".join(seconds(v) for v in cells)
        + f"{f.worker_hours:9.1f}{f.most_processes:6d}  {verdict}".rstrip()
    )


HEADER = f"{'fleet':<38}{'p50':>8}{'p95':>8}{'p99':>8}{'p95 out':>8}{'p99 out':>8}{'w-hours':>9}{'most':>6}  goal"
VARIANTS: tuple[tuple[str, dict[str, float | bool]], ...] = (
    ("polling 30 s (KEDA's default)", {"polling_seconds": 30.0}),
    ("tolerance 0", {"tolerance": 0.0}),
    ("start-up 90 s", {"startup_seconds": 90.0}),
    ("min 1 pod", {"min_pods": 1}),
    ("max 8 pods", {"max_pods": 8}),
    ("the raw figure (no avg_over_time)", {"average_seconds": 0.0}),
    ("figure's target 120 s", {"target_wait": 120.0}),
    ("threshold 3 (a pod counts for 3)", {"threshold": 3.0}),
    ("threshold 5 (a pod counts for 5)", {"threshold": 5.0}),
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--uploads", type=int, default=Day.uploads)
    parser.add_argument("--page-sigma", type=float, default=Day.page_sigma, help="spread of document sizes")
    parser.add_argument("--page-seconds", type=float, default=Service.page_seconds)
    parser.add_argument("--page-cv", type=float, default=Service.page_cv)
    parser.add_argument("--window", type=int, default=Service.window, help="EXORA_DOCUMENT_WINDOW")
    parser.add_argument("--goal", type=float, default=30.0, help="EXORA_TARGET_WAIT_SECONDS, the p95 goal")
    parser.add_argument("--target", type=float, default=Autoscaler.target_wait, help="the figure's target wait")
    parser.add_argument("--polling-seconds", type=float, default=Autoscaler.polling_seconds)
    parser.add_argument("--startup-seconds", type=float, default=Autoscaler.startup_seconds)
    parser.add_argument("--processes-per-pod", type=int, default=Autoscaler.processes_per_pod)
    parser.add_argument("--min-pods", type=int, default=Autoscaler.min_pods)
    parser.add_argument("--max-pods", type=int, default=Autoscaler.max_pods)
    parser.add_argument("--tolerance", type=float, default=Autoscaler.tolerance)
    parser.add_argument("--threshold", type=float, default=None, help="figure's workers per pod (default: processes)")
    parser.add_argument("--average-seconds", type=float, default=Autoscaler.average_seconds)
    parser.add_argument("--no-variants", action="store_true", help="skip the table of other settings")
    args = parser.parse_args()

    started = time.monotonic()
    figure = capacity_figure()
    day = Day(uploads=args.uploads, page_sigma=args.page_sigma)
    service = Service(page_seconds=args.page_seconds, page_cv=args.page_cv, window=args.window)
    scaler = Autoscaler(
        target_wait=args.target,
        polling_seconds=args.polling_seconds,
        startup_seconds=args.startup_seconds,
        processes_per_pod=args.processes_per_pod,
        min_pods=args.min_pods,
        max_pods=args.max_pods,
        tolerance=args.tolerance,
        threshold=args.threshold,
        average_seconds=args.average_seconds,
    )
    in_day = [d for d in make_uploads(day, random.Random(args.seed), warm_up=HOUR) if 0 <= d.arrived < DAY]
    pages = sum(d.pages for d in in_day)
    print(
        f"{len(in_day)} uploads, {pages} pages ({pages / len(in_day):.1f} a document, "
        f"{sum(d.bulk for d in in_day)} in the bulk lane); {args.page_seconds:g} s a page; "
        f"{pages * args.page_seconds / HOUR:.0f} worker-hours of reading"
    )
    print(
        f"autoscaled: pods of {scaler.processes_per_pod} processes, {scaler.min_pods}-{scaler.max_pods} pods, "
        f"polling {scaler.polling_seconds:g} s, start-up {scaler.startup_seconds:g} s, figure's target "
        f"{scaler.target_wait:g} s, averaged over {scaler.average_seconds:g} s, tolerance {scaler.tolerance:g}; "
        "waits in seconds ('out': outside the spike's first 10 minutes)\n"
    )
    runs = Runs(day, service, figure, args.seed)
    fixed = [runs.fixed(processes) for processes in FIXED_FLEETS]
    meeting = [f for f in fixed if f.meets(args.goal)]
    reference = meeting[0] if meeting else None

    def verdict(f: Figures) -> str:
        if not f.meets(args.goal):
            return "wait missed"
        if reference is None:
            return "wait met"
        return "MET" if f.worker_hours < reference.worker_hours else "wait met, more worker-hours"

    print(HEADER)
    scaled = runs.scaled("autoscaled (KEDA)", scaler)
    print(row(scaled, verdict(scaled)))
    for f in fixed:
        print(row(f, "wait met" if f.meets(args.goal) else "wait missed"))
    smallest = runs.smallest_fixed_fleet(args.goal)
    print(row(dataclasses.replace(runs.fixed(smallest), name=f"fixed {smallest} (fewest meeting the wait)")))
    print()
    if reference is None:
        print(f"No fixed fleet of {FIXED_FLEETS} meets p95 < {args.goal:g} s outside the spike's first 10 minutes.")
    else:
        print(
            f"Goal: p95 {scaled.p95_outside:.1f} s outside the spike's first 10 minutes "
            f"(< {args.goal:g} s: {'yes' if scaled.meets(args.goal) else 'no'}), {scaled.worker_hours:.0f} "
            f"worker-hours against {reference.worker_hours:.0f} for {reference.name}, the smallest of "
            f"{FIXED_FLEETS} to meet the wait: {'MET' if verdict(scaled) == 'MET' else 'NOT MET'}."
        )
    if not args.no_variants:
        print("\nOther settings of the autoscaler, one at a time (the rest as above):\n" + HEADER)
        for name, change in VARIANTS:
            variant = runs.scaled(name, dataclasses.replace(scaler, **change))  # type: ignore[arg-type]
            print(row(variant, verdict(variant)))
    print(f"\n({time.monotonic() - started:.1f} s)")


if __name__ == "__main__":
    main()
