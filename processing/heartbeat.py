"""Writes of a worker process's own row (`WorkerProcess`): its heartbeat, what it is doing, and
a clean exit. The operators see the workers by these rows, and the ETA counts the worker
slots alive from them.

Liveness is derived from the age of the last heartbeat, so a killed process shows as dead
without having to say anything; a clean exit says "stopped". The heartbeat thread that calls
these is the Dramatiq middleware `supervision.WorkerHeartbeat`.
"""

import os
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import psutil
from django.conf import settings
from django.db.models.functions import Now

from processing.identity import database_now, worker_name
from processing.models import WorkerProcess

ALIVE, STALE, DEAD, STOPPED = "alive", "stale", "dead", "stopped"

# cgroup v2 then v1: where a container's memory limit is written.
_CGROUP_LIMIT_FILES = (Path("/sys/fs/cgroup/memory.max"), Path("/sys/fs/cgroup/memory/memory.limit_in_bytes"))


@dataclass
class Identity:
    """Who this worker process is; fixed at boot (workers fork, so never at import)."""

    name: str  # as leases and attempts name it (identity.worker_name)
    host: str  # its node
    pid: int
    started_at: datetime
    queues: list[str]
    threads: int

    @classmethod
    def of_this_process(cls, queues: list[str], threads: int) -> "Identity":
        return cls(worker_name(), settings.EXORA_NODE_NAME, os.getpid(), database_now(), sorted(queues), threads)


@dataclass
class Beat:
    """What one heartbeat reports besides the identity."""

    current: list[dict[str, Any]] = field(default_factory=list)
    messages_done: int = 0


def liveness(worker: WorkerProcess, now: datetime) -> str:
    """Alive, stale or dead by the age of its last heartbeat; stopped when it said so."""
    if worker.stopped_at is not None:
        return STOPPED
    age = (now - worker.last_heartbeat).total_seconds()
    if age < settings.EXORA_WORKER_STALE_SECONDS:
        return ALIVE
    if age < settings.EXORA_WORKER_DEAD_SECONDS:
        return STALE
    return DEAD


def memory_limit_bytes() -> int:
    """The memory a worker may use: the setting, else the container's limit, else the machine's."""
    if settings.EXORA_WORKER_MEMORY_LIMIT_MB:
        return settings.EXORA_WORKER_MEMORY_LIMIT_MB * 1024 * 1024
    machine: int = psutil.virtual_memory().total
    for path in _CGROUP_LIMIT_FILES:
        try:
            raw = path.read_text().strip()
        except OSError:
            continue
        # "max", or a v1 "unlimited" number far above the machine's memory, means no limit.
        if raw.isdigit() and int(raw) < machine:
            return int(raw)
    return machine


def record_heartbeat(identity: Identity, beat: Beat, process: psutil.Process) -> WorkerProcess:
    """Write this process's row: alive now, with its memory, CPU and current work."""
    with process.oneshot():
        rss = process.memory_info().rss
        # The share of one core since the previous call (the first call says 0).
        cpu = process.cpu_percent(interval=None)
    worker, _ = WorkerProcess.objects.update_or_create(
        host=identity.host,
        pid=identity.pid,
        started_at=identity.started_at,
        defaults={
            "name": identity.name,
            "queues": identity.queues,
            "threads": identity.threads,
            "last_heartbeat": Now(),
            "stopped_at": None,
            "rss_bytes": rss,
            "memory_limit_bytes": memory_limit_bytes(),
            "cpu_percent": round(cpu, 1),
            "current": beat.current,
            "messages_done": beat.messages_done,
        },
    )
    return worker


def record_stop(identity: Identity) -> None:
    """A clean shutdown: the row says stopped, so the worker is not taken for dead."""
    WorkerProcess.objects.filter(host=identity.host, pid=identity.pid, started_at=identity.started_at).update(
        stopped_at=Now(), last_heartbeat=Now(), current=[]
    )


def forget_old_workers(older_than_seconds: int = 7 * 24 * 3600) -> int:
    """Delete rows of workers gone for longer than a week, so the table stays small."""
    cutoff = database_now() - timedelta(seconds=older_than_seconds)
    deleted, _ = WorkerProcess.objects.filter(last_heartbeat__lt=cutoff).delete()
    return deleted
