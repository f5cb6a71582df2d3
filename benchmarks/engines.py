"""The engines a benchmark runs the workers on: the broker (Redis, or RabbitMQ in a virtual host
of its own, emptied before every run) and the database (directly, or through PgBouncer in
transaction mode), and the CPU the workers spend while idle.

`scripts/services.sh rabbitmq` and `scripts/services.sh pgbouncer` start the engines.
"""

import base64
import json
import os
import signal
import subprocess
import time
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import psutil

RABBITMQ_VHOST = "exora-bench"
RABBITMQ_URL = f"amqp://guest:guest@127.0.0.1:5672/{RABBITMQ_VHOST}"
RABBITMQ_API = "http://127.0.0.1:15672/api"
PGBOUNCER_PORT = 6432
# runworkers' idle wait per broker (processing/management/commands/runworkers.py IDLE_WAIT_MS).
IDLE_WAIT_MS = {"redis": "100", "rabbitmq": "1000"}


def _rabbitmq(method: str, path: str, body: Any = None) -> Any:
    request = urllib.request.Request(  # noqa: S310 (RabbitMQ on localhost)
        RABBITMQ_API + path,
        data=None if body is None else json.dumps(body).encode(),
        method=method,
        headers={"Content-Type": "application/json"},
    )
    request.add_header("Authorization", "Basic " + base64.b64encode(b"guest:guest").decode())
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 (localhost)
        raw = response.read()
    return json.loads(raw) if raw else None


def broker_env(broker: str, redis_url: str) -> dict[str, str]:
    """The environment of this process and the workers for `broker`."""
    if broker == "rabbitmq":
        _rabbitmq("PUT", f"/vhosts/{RABBITMQ_VHOST}")
        _rabbitmq("PUT", f"/permissions/{RABBITMQ_VHOST}/guest", {"configure": ".*", "write": ".*", "read": ".*"})
        return {"EXORA_BROKER": "rabbitmq", "EXORA_BROKER_URL": RABBITMQ_URL, "REDIS_URL": redis_url}
    return {"EXORA_BROKER": "redis", "REDIS_URL": redis_url}


def empty_rabbitmq() -> None:
    """Every queue of the benchmark's virtual host, purged."""
    for queue in _rabbitmq("GET", f"/queues/{urllib.parse.quote(RABBITMQ_VHOST)}"):
        name = urllib.parse.quote(queue["name"], safe="")
        _rabbitmq("DELETE", f"/queues/{urllib.parse.quote(RABBITMQ_VHOST)}/{name}/contents")


S3_BUCKET = "exora-bench"


def storage_env(storage: str) -> dict[str, str]:
    """The environment for `storage`: with s3, a bucket of the benchmark's own on the S3 server
    at EXORA_S3_ENDPOINT_URL (scripts/services.sh s3 starts SeaweedFS there), created if missing."""
    if storage != "s3":
        return {"EXORA_STORAGE": "local"}
    import boto3

    env = {
        "EXORA_STORAGE": "s3",
        "EXORA_S3_BUCKET": S3_BUCKET,
        "EXORA_S3_ENDPOINT_URL": os.environ.get("EXORA_S3_ENDPOINT_URL", "http://127.0.0.1:8333"),
        "AWS_ACCESS_KEY_ID": os.environ.get("AWS_ACCESS_KEY_ID", "exora"),
        "AWS_SECRET_ACCESS_KEY": os.environ.get("AWS_SECRET_ACCESS_KEY", "exora-secret-key"),
        "AWS_DEFAULT_REGION": os.environ.get("AWS_DEFAULT_REGION", "us-east-1"),
        # S3 storage means several hosts (exora/settings/fleet.py): every one signs with this key.
        "EXORA_SECRET_KEY": os.environ.get("EXORA_SECRET_KEY", "benchmark-key-shared-by-every-host"),
    }
    client = boto3.client(
        "s3",
        endpoint_url=env["EXORA_S3_ENDPOINT_URL"],
        aws_access_key_id=env["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"],
        region_name=env["AWS_DEFAULT_REGION"],
    )
    if S3_BUCKET not in {bucket["Name"] for bucket in client.list_buckets().get("Buckets", [])}:
        client.create_bucket(Bucket=S3_BUCKET)
    return env


def through_pgbouncer(database_url: str) -> dict[str, str]:
    """The workers' database settings to reach `database_url` through PgBouncer."""
    parts = urlsplit(database_url)
    netloc = f"{parts.username or 'postgres'}@127.0.0.1:{PGBOUNCER_PORT}"
    return {"DATABASE_URL": urlunsplit(parts._replace(netloc=netloc)), "EXORA_DB_POOLER": "pgbouncer"}


def idle_worker_cores(
    python: str, repo: Path, env: dict[str, str], processes: int, seconds: float
) -> tuple[float, int]:
    """Cores each idle worker process uses (its threads, the broker's polling or waiting),
    measured over `seconds` once they are up: the pool's CPU over its worker processes; and
    how many processes the pool had."""
    log = Path(env["EXORA_DATA_DIR"]) / "idle-workers.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    env = {**env, "EXORA_WORKERS": str(processes), "EXORA_WORKER_THREADS": "1"}
    env.pop("dramatiq_worker_timeout", None)  # runworkers chooses it per broker
    with log.open("wb") as output:
        main = subprocess.Popen(
            [python, "manage.py", "runworkers"], cwd=repo, env=env, stdout=output, stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip
    try:
        deadline = time.monotonic() + 120
        while log.read_text(errors="replace").count("Worker process is ready for action.") < processes:
            if main.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"workers did not start:\n{log.read_text(errors='replace')[-2000:]}")
            time.sleep(0.2)
        time.sleep(5)  # past their start-up
        # The whole pool (its main process included), shared among its worker processes.
        pool = [psutil.Process(main.pid), *psutil.Process(main.pid).children(recursive=True)]

        def cpu() -> float:
            return sum(sum(p.cpu_times()[:2]) for p in pool)

        before = cpu()
        time.sleep(seconds)
        used = cpu() - before
        return used / seconds / processes, len(pool)
    finally:
        os.killpg(main.pid, signal.SIGTERM)
        main.wait(timeout=30)
