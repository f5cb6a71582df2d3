"""A worker host's connection to RabbitMQ cut in the middle of its pages: the messages it held
unacknowledged go back to the queue, and every page is still read, and stored, once."""

import urllib.parse

import pytest

from processing import lanes
from tests.e2e.fleet.engines import close_rabbitmq_connections_of, rabbitmq_api, rabbitmq_connections_of
from tests.e2e.fleet.hosts import all_finished, assert_read_once_each, held_by, upload_scans, wait_for

pytestmark = [pytest.mark.e2e, pytest.mark.slow, pytest.mark.chaos]


def redelivered(vhost: str) -> int:
    """Messages RabbitMQ has given out again, over the page queues of `vhost`."""
    queues = rabbitmq_api("GET", f"/queues/{urllib.parse.quote(vhost, safe='')}")
    return sum(
        queue.get("message_stats", {}).get("redeliver", 0) for queue in queues if queue["name"] in lanes.PAGE_QUEUES
    )


@pytest.mark.parametrize("fleet", ["rabbitmq"], indirect=True)
def test_a_worker_hosts_cut_connection_gives_back_its_messages_and_loses_nothing(
    fleet, web, worker_hosts, api, s3_bucket, e2e_processes
):
    # GIVEN three scanned documents being read by both worker hosts, on RabbitMQ
    logs = e2e_processes.logs
    vhost = urllib.parse.unquote(urllib.parse.urlsplit(fleet.env["EXORA_BROKER_URL"]).path[1:])
    ids = upload_scans(api, documents=3, pages=5)
    wait_for(lambda: held_by("worker-a"), 120, "worker-a holding a page", logs)

    # WHEN the broker closes every AMQP connection of worker-a's processes
    cut_host = worker_hosts["worker-a"]
    pids = [p for p in [cut_host.process.pid, *cut_host.worker_pids()] if p is not None]
    before = set(rabbitmq_connections_of(pids, vhost))
    closed = close_rabbitmq_connections_of(pids, vhost)

    # THEN there were connections to close, and their unacknowledged messages were given out again
    assert closed >= 1, f"no AMQP connection found for worker-a\n{logs()}"
    wait_for(lambda: redelivered(vhost) > 0, 60, "RabbitMQ to redeliver worker-a's messages", logs)
    # AND every document completes, each page read and stored once, with no crash counted
    wait_for(lambda: all_finished(ids), 300, "every document to finish", logs)
    assert_read_once_each(ids, s3_bucket, logs)
    # AND worker-a's processes, alive all along, connected again by themselves
    assert cut_host.running
    wait_for(lambda: set(rabbitmq_connections_of(pids, vhost)) - before, 60, "worker-a to reconnect", logs)
