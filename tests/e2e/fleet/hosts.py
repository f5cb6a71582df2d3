"""Several hosts on one machine, sharing nothing but the engines (PostgreSQL, Redis, S3).

Every process of a host runs in a mount namespace of its own (`unshare --mount`), where a
private tmpfs covers the hosts' data root and another covers /tmp: a host sees its own data
dir, cache and temporary files and nobody else's, while the code and the engines, reached over
the network, are the same for all. A host is killed whole by killing its process group.
"""

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from tests.e2e.conftest import BIN_DIR, E2EProcesses, ManagedProcess, WebServer, WorkerPool

# Each host mounts its own tmpfs here: the same path on every host, a different disk for each.
HOST_ROOT = Path("/var/lib/exora-host")
# Every host of the fleet signs sessions with the same key (exora/settings/fleet.py).
FLEET_SECRET_KEY = "fleet-test-secret-key-shared-by-every-host-of-the-test"


def in_a_host_of_its_own(args: list[str]) -> list[str]:
    """`args`, run in a mount namespace with a private data root and a private /tmp."""
    script = (
        f"mount -t tmpfs -o size=4g,mode=0700 exora-host {HOST_ROOT} && "
        "mount -t tmpfs -o size=4g exora-tmp /tmp && "
        f'mkdir -p {HOST_ROOT}/data {HOST_ROOT}/cache && exec "$@"'
    )
    return ["unshare", "--mount", "--propagation", "private", "--", "sh", "-c", script, "host", *args]


@dataclass
class Fleet:
    """The hosts of one test: what each runs, and the environment they share."""

    env: dict[str, str]
    processes: E2EProcesses

    def host_env(self, node: str, **extra: str) -> dict[str, str]:
        return {
            **self.env,
            "EXORA_NODE_NAME": node,
            "EXORA_DATA_DIR": str(HOST_ROOT / "data"),
            "EXORA_CACHE_DIR": str(HOST_ROOT / "cache"),
            "TMPDIR": "/tmp",
            "EXORA_SECRET_KEY": FLEET_SECRET_KEY,
            "EXORA_STORAGE": "s3",
            **extra,
        }

    def web_host(self, node: str) -> WebServer:
        """daphne on a host of its own, serving the static files it collected itself."""
        env = self.host_env(node)

        def launch(daphne: list[str]) -> list[str]:
            collect = f"{BIN_DIR}/python manage.py collectstatic --noinput -v 0"
            return in_a_host_of_its_own(["sh", "-c", f'{collect} && exec "$@"', "web", *daphne])

        # Its access log goes to its output: its /tmp (where pytest keeps logs) is its own.
        server = WebServer(
            env, self.processes.log_dir, self.processes, launcher=launch, name=f"web {node}", access_log="-"
        )
        server.start()
        return server

    def worker_host(self, node: str, processes: int = 1) -> WorkerPool:
        """`manage.py runworkers` on a host of its own, not started."""
        env = self.host_env(node, EXORA_WORKERS=str(processes))
        args = in_a_host_of_its_own([f"{BIN_DIR}/python", "manage.py", "runworkers"])
        log = self.processes.log_dir / f"worker-{node}.log"
        process = self.processes.add(ManagedProcess(f"workers {node}", args, env, log))
        return WorkerPool(process, processes, self.processes)


Launcher = Callable[[list[str]], list[str]]
