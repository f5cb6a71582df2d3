"""The limit the workers are measured against: the same pages through bare `tesseract`, as
many at a time as there are worker processes, with each run's time, CPU and peak memory."""

import os
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from worker_runs import WORKER_PROCESSES, hwm_kb, machine_busy, this_process_cpu


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
                hwm = max(hwm, hwm_kb(process.pid))
                time.sleep(0.05)
        except BaseException:
            process.kill()
            process.wait()
            raise
        process.returncode = os.waitstatus_to_exitcode(status)
        if process.returncode != 0:
            raise RuntimeError(f"tesseract failed on {path} ({process.returncode})")
        return time.perf_counter() - started, usage.ru_utime + usage.ru_stime, hwm

    busy_before, own_before = machine_busy(), this_process_cpu()
    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=WORKER_PROCESSES) as pool:
        results = list(pool.map(read, files))
    seconds = time.perf_counter() - started
    other = machine_busy() - busy_before - (this_process_cpu() - own_before) - sum(r[1] for r in results)
    return BareResult(
        pages,
        seconds,
        page_seconds=[r[0] for r in results],
        page_cpu=[r[1] for r in results],
        peak_rss_kb=max(r[2] for r in results),
        other_cores=max(0.0, other) / seconds,
    )
