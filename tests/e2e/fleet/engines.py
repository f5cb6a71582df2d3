"""The fleet's engines, as the tests reach them: a RabbitMQ virtual host of the test's own,
PgBouncer in transaction mode in front of the test database, and a load balancer in front of
web replicas.

Each fails the test (never skips it) when its engine does not answer; `make test` starts them
(scripts/services.sh rabbitmq, scripts/services.sh pgbouncer).
"""

import base64
import contextlib
import json
import os
import select
import socket
import threading
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections.abc import Iterator
from typing import Any

import psutil
import psycopg
import pytest

RABBITMQ_HOST = os.environ.get("EXORA_TEST_RABBITMQ_HOST", "127.0.0.1")
RABBITMQ_MANAGEMENT = f"http://{RABBITMQ_HOST}:15672/api"
RABBITMQ_USER, RABBITMQ_PASSWORD = "guest", "guest"
PGBOUNCER_PORT = int(os.environ.get("EXORA_PGBOUNCER_PORT", "6432"))


# --- RabbitMQ ----------------------------------------------------------------------------------


def rabbitmq_api(method: str, path: str, body: Any = None) -> Any:
    """One call to RabbitMQ's management API, as guest."""
    request = urllib.request.Request(
        RABBITMQ_MANAGEMENT + path,
        data=None if body is None else json.dumps(body).encode(),
        method=method,
        headers={"Content-Type": "application/json"},
    )
    credentials = base64.b64encode(f"{RABBITMQ_USER}:{RABBITMQ_PASSWORD}".encode()).decode()
    request.add_header("Authorization", f"Basic {credentials}")
    with urllib.request.urlopen(request, timeout=10) as response:
        raw = response.read()
    return json.loads(raw) if raw else None


@contextlib.contextmanager
def rabbitmq_vhost() -> Iterator[str]:
    """A virtual host of this test's own (its queues and messages vanish with it): the broker
    URL to give the processes."""
    vhost = f"exora-test-{uuid.uuid4().hex[:10]}"
    try:
        rabbitmq_api("PUT", f"/vhosts/{vhost}")
        rabbitmq_api("PUT", f"/permissions/{vhost}/{RABBITMQ_USER}", {"configure": ".*", "write": ".*", "read": ".*"})
    except (urllib.error.URLError, OSError) as problem:
        pytest.fail(
            f"RabbitMQ's management API at {RABBITMQ_MANAGEMENT} is unreachable ({problem}); "
            "start it with `scripts/services.sh rabbitmq`",
            pytrace=False,
        )
    try:
        yield f"amqp://{RABBITMQ_USER}:{RABBITMQ_PASSWORD}@{RABBITMQ_HOST}:5672/{vhost}"
    finally:
        with contextlib.suppress(urllib.error.URLError, OSError):
            rabbitmq_api("DELETE", f"/vhosts/{vhost}")


def rabbitmq_connections_of(pids: list[int], vhost: str) -> list[str]:
    """The names RabbitMQ gives the AMQP connections these processes hold."""
    ports = set()
    for pid in pids:
        with contextlib.suppress(psutil.NoSuchProcess):  # a short-lived child
            tcp = psutil.Process(pid).net_connections(kind="tcp")
            ports |= {c.laddr.port for c in tcp if c.raddr and c.raddr.port == 5672}
    listed = rabbitmq_api("GET", f"/vhosts/{urllib.parse.quote(vhost, safe='')}/connections")
    return [connection["name"] for connection in listed if connection["peer_port"] in ports]


def close_rabbitmq_connections_of(pids: list[int], vhost: str) -> int:
    """Close, on the broker's side, every AMQP connection these processes hold (what a network
    cut or `rabbitmqctl close_connection` does to them); how many were closed."""
    names = rabbitmq_connections_of(pids, vhost)
    for name in names:
        rabbitmq_api("DELETE", f"/connections/{urllib.parse.quote(name, safe='')}")
    return len(names)


# --- PgBouncer ---------------------------------------------------------------------------------


def pgbouncer_admin(command: str) -> list[dict[str, Any]]:
    """A command of PgBouncer's admin console (SHOW ..., KILL ...), as rows."""
    try:
        with psycopg.connect(
            host="127.0.0.1", port=PGBOUNCER_PORT, user="postgres", dbname="pgbouncer", autocommit=True
        ) as connection:
            # The admin console speaks the simple query protocol only.
            cursor = connection.cursor()
            cursor.execute(command.encode(), prepare=False)
            if cursor.description is None:
                return []
            names = [column.name for column in cursor.description]
            return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
    except psycopg.OperationalError as problem:
        pytest.fail(
            f"PgBouncer on 127.0.0.1:{PGBOUNCER_PORT} is unreachable ({problem}); "
            "start it with `scripts/services.sh pgbouncer`",
            pytrace=False,
        )


def pgbouncer_release(database: str) -> None:
    """Drop PgBouncer's server connections to `database`, so that it can be dropped."""
    pgbouncer_admin(f"KILL {database}")
    pgbouncer_admin(f"RESUME {database}")


# --- A load balancer ---------------------------------------------------------------------------


class FailoverBalancer:
    """A TCP proxy on a local port that sends each new connection to the first replica that
    accepts it, as a load balancer does once a replica stops answering (the first one alive
    gets everything, so a test knows which replica holds a socket)."""

    def __init__(self, replicas: list[tuple[str, int]]) -> None:
        self.replicas = replicas
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port: int = self.listener.getsockname()[1]
        self.served: list[int] = []  # the replica's port, per connection
        self._stopping = False
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _accept(self) -> None:
        while not self._stopping:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(client,), daemon=True).start()

    def _serve(self, client: socket.socket) -> None:
        for address in self.replicas:
            try:
                upstream = socket.create_connection(address, timeout=2)
            except OSError:
                continue
            self.served.append(address[1])
            self._pipe(client, upstream)
            return
        client.close()

    @staticmethod
    def _pipe(client: socket.socket, upstream: socket.socket) -> None:
        sockets = [client, upstream]
        try:
            while True:
                readable, _, _ = select.select(sockets, [], [], 30)
                for source in readable:
                    data = source.recv(65536)
                    if not data:
                        return
                    (upstream if source is client else client).sendall(data)
        except OSError:
            return
        finally:
            client.close()
            upstream.close()

    def close(self) -> None:
        self._stopping = True
        self.listener.close()
