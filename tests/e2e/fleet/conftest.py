"""A fleet on one machine: hosts in mount namespaces of their own (hosts.py) that share only
the engines, reaching PostgreSQL through PgBouncer in transaction mode, their files in an S3
bucket, and their work through Redis or RabbitMQ: every test of this folder runs on both
brokers unless it names one (`@pytest.mark.parametrize("fleet", ["rabbitmq"], indirect=True)`).

Run with the e2e clock: a 6 s lease and a 1 s recovery interval.
"""

import contextlib
import urllib.parse
from collections.abc import Iterator

import pytest
from django.contrib.auth import get_user_model
from django.db import connection

from tests.e2e.conftest import PASSWORD, ApiClient, WebServer, WorkerPool
from tests.e2e.fleet.engines import PGBOUNCER_PORT, pgbouncer_admin, pgbouncer_release, rabbitmq_vhost
from tests.e2e.fleet.hosts import Fleet
from tests.factories import api_token


@pytest.fixture(params=["redis", "rabbitmq"])
def fleet(request, e2e_env, e2e_processes, s3_bucket) -> Iterator[Fleet]:
    database = connection.settings_dict["NAME"]
    direct = urllib.parse.urlsplit(e2e_env["DATABASE_URL"])
    through_pgbouncer = direct._replace(netloc=f"{direct.username or 'postgres'}@127.0.0.1:{PGBOUNCER_PORT}")
    pgbouncer_admin("SHOW VERSION")  # fails the test at once when PgBouncer is down
    env = {
        **e2e_env,
        "EXORA_S3_BUCKET": s3_bucket,
        "DATABASE_URL": urllib.parse.urlunsplit(through_pgbouncer),
        "EXORA_DB_POOLER": "pgbouncer",
    }
    with contextlib.ExitStack() as cleanup:
        if request.param == "rabbitmq":
            broker_url = cleanup.enter_context(rabbitmq_vhost())
            env |= {"EXORA_BROKER": "rabbitmq", "EXORA_BROKER_URL": broker_url}
        yield Fleet(env, e2e_processes, broker=request.param, database=database)
        # The hosts go first, then PgBouncer's connections to the test database (which is
        # dropped at the end of the run), then the virtual host.
        e2e_processes.stop_all()
        pgbouncer_release(database)


@pytest.fixture
def web(fleet) -> Iterator[WebServer]:
    server = fleet.web_host("web-1")
    yield server
    server.stop()


@pytest.fixture
def worker_hosts(fleet) -> Iterator[dict[str, WorkerPool]]:
    hosts = {node: fleet.worker_host(node) for node in ("worker-a", "worker-b")}
    for host in hosts.values():
        host.start()
    yield hosts
    for host in hosts.values():
        host.stop()


@pytest.fixture
def api(web) -> ApiClient:
    user = get_user_model().objects.create_user("hosts", password=PASSWORD)
    return ApiClient(web.base_url, api_token(user))
