"""Who a worker process is, among many hosts, and what time it is for all of them.

A worker's name is its node (EXORA_NODE_NAME: the host, or the pod), its pid, and a boot id
drawn when the process starts: a container restarted with the same name and pid is a new
worker, and never renews its predecessor's leases. Leases and heartbeats are stamped with
the database's clock, never a host's own, so hosts whose clocks differ agree on which lease
ran out and which worker went silent.
"""

import os
import secrets
from datetime import UTC, datetime

from django.conf import settings
from django.db import connection

_boot: dict[int, str] = {}  # pid -> boot id: workers fork, and each child is a worker of its own


def boot_id() -> str:
    """Drawn once per process."""
    pid = os.getpid()
    if pid not in _boot:
        _boot[pid] = secrets.token_hex(4)
    return _boot[pid]


def worker_name() -> str:
    """This process as leases, attempts and heartbeats name it: "node:pid.boot"."""
    return f"{settings.EXORA_NODE_NAME}:{os.getpid()}.{boot_id()}"


def node_of(name: str) -> str:
    """The node a worker's name belongs to."""
    return name.rsplit(":", 1)[0]


def pid_of(name: str) -> int:
    """The process id in a worker's name."""
    return int(name.rsplit(":", 1)[1].split(".", 1)[0])


def database_now() -> datetime:
    """The database's clock, which every host shares."""
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute("SELECT STRFTIME('%Y-%m-%d %H:%M:%f', 'NOW')")
            return datetime.fromisoformat(cursor.fetchone()[0]).replace(tzinfo=UTC)
        # The statement's time, as Django's Now() takes it: not the transaction's start.
        cursor.execute("SELECT STATEMENT_TIMESTAMP()")
        now: datetime = cursor.fetchone()[0]
        return now
