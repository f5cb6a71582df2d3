"""What a process can learn about the host it runs on: its name and the CPUs it may use."""

import math
import os
import socket
from pathlib import Path

# cgroup v2, then v1: a container's CPU quota.
_CGROUP_V2_CPU_MAX = Path("/sys/fs/cgroup/cpu.max")
_CGROUP_V1_QUOTA = Path("/sys/fs/cgroup/cpu/cpu.cfs_quota_us")
_CGROUP_V1_PERIOD = Path("/sys/fs/cgroup/cpu/cpu.cfs_period_us")


def node_name() -> str:
    """The host's name: a pod's name under Kubernetes."""
    return socket.gethostname()


def usable_cpus() -> int:
    """The CPUs this process may run on: its affinity, capped by its container's CPU quota.

    `os.cpu_count()` counts the machine's cores, which a container limited to 2 of 64 must not
    size its worker processes by."""
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    quota = _cgroup_cpu_quota()
    if quota is not None:
        cpus = min(cpus, max(1, math.ceil(quota)))
    return max(cpus, 1)


def _cgroup_cpu_quota() -> float | None:
    """The container's CPU quota in CPUs, or None when it has none."""
    try:
        quota, period = _CGROUP_V2_CPU_MAX.read_text().split()[:2]
        return None if quota == "max" else int(quota) / int(period)
    except (OSError, ValueError):
        pass
    try:
        quota_us = int(_CGROUP_V1_QUOTA.read_text())
        period_us = int(_CGROUP_V1_PERIOD.read_text())
    except (OSError, ValueError):
        return None
    return None if quota_us <= 0 or period_us <= 0 else quota_us / period_us
