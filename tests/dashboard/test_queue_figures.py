"""Queue figures (processing.brokers) read from a real Redis and a real RabbitMQ with known
contents, put there by dramatiq's own brokers (so the layout is theirs): a dedicated Redis
database that is flushed, and queues of the test's own on RabbitMQ."""

import time
import uuid
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

import dramatiq
import pytest
import redis
from dramatiq.brokers.rabbitmq import RabbitmqBroker
from dramatiq.brokers.redis import RedisBroker

from processing.brokers import RabbitQueues, RedisClient, RedisQueues

if TYPE_CHECKING:
    from redis.client import Pipeline

REDIS_URL = "redis://127.0.0.1:6379/11"


class RecordingClient:
    """A Redis client that notes every command name sent, pipelined or not."""

    def __init__(self, client: RedisClient) -> None:
        self.client = client
        self.commands: list[str] = []

    def pipeline(self, transaction: bool = True) -> "Pipeline[bytes]":
        pipe = self.client.pipeline(transaction=transaction)
        original: Callable[..., Any] = pipe.pipeline_execute_command
        commands = self.commands

        def record(*args: Any, **options: Any) -> Any:
            commands.append(str(args[0]).upper())
            return original(*args, **options)

        pipe.pipeline_execute_command = record  # type: ignore[method-assign]  # a spy on a real pipeline
        return pipe

    def __getattr__(self, name: str) -> Any:
        self.commands.append(name.upper())
        return getattr(self.client, name)


@pytest.fixture
def broker() -> Iterator[RedisBroker]:
    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2)
    try:
        client.ping()
    except redis.RedisError as exc:
        pytest.fail(f"Redis at {REDIS_URL} is unreachable ({exc}); start it with `scripts/services.sh redis`")
    client.flushdb()
    broker = RedisBroker(url=REDIS_URL)
    for queue in ("pages", "documents"):
        broker.declare_queue(queue)
    yield broker
    client.flushdb()
    broker.close()


def message(queue: str, n: int) -> dramatiq.Message[Any]:
    return dramatiq.Message(
        queue_name=queue, actor_name="read_document_page", args=(f"doc-{n}", n), kwargs={}, options={}
    )


def test_ready_running_delayed_and_dead_counts_from_a_known_redis(broker):
    # GIVEN "pages" with 7 messages enqueued, the oldest about 3 s ago
    oldest = message("pages", 0)
    oldest = oldest.copy(message_timestamp=int(time.time() * 1000) - 3000)
    broker.enqueue(oldest)
    for n in range(1, 7):
        broker.enqueue(message("pages", n))
    # AND 2 of them fetched by a worker and not acknowledged (running), one of which is then
    # dead-lettered (nack)
    consumer = broker.consume("pages", prefetch=2, timeout=100)
    fetched = [next(consumer), next(consumer)]
    consumer.nack(fetched[1])
    # AND 3 messages delayed for a retry, and "documents" with 1 ready
    for n in range(10, 13):
        broker.enqueue(message("pages", n), delay=60_000)
    broker.enqueue(message("documents", 99))

    # WHEN the figures are read
    client = RecordingClient(redis.Redis.from_url(REDIS_URL))
    queues = RedisQueues(client)  # type: ignore[arg-type]  # a recording wrapper of a real client
    figures = {q.name: q for q in queues.figures(["documents", "pages", "unused"], dead_window_seconds=60)}

    # THEN each count is what was put there
    pages = figures["pages"]
    assert (pages.ready, pages.running, pages.delayed, pages.dead, pages.dead_recent) == (5, 1, 3, 1, 1)
    # AND the latency is the age of the oldest ready message (the 3 s one was fetched: the next is new)
    assert pages.oldest_age_seconds is not None and pages.oldest_age_seconds < 3
    documents = figures["documents"]
    assert (documents.ready, documents.running, documents.delayed, documents.dead) == (1, 0, 0, 0)
    assert figures["unused"].ready == 0 and figures["unused"].oldest_age_seconds is None
    # AND Redis was never asked to walk its keys
    assert not {"KEYS", "SCAN"} & set(client.commands), client.commands
    consumer.close()


def test_the_oldest_ready_message_gives_the_latency(broker):
    # GIVEN a message enqueued 90 s ago at the head of "documents"
    old = message("documents", 1).copy(message_timestamp=int(time.time() * 1000) - 90_000)
    broker.enqueue(old)
    broker.enqueue(message("documents", 2))
    # WHEN the figures are read THEN its age is the queue's latency
    (documents,) = RedisQueues(redis.Redis.from_url(REDIS_URL)).figures(["documents"])
    assert documents.ready == 2
    assert documents.oldest_age_seconds is not None  # narrows the type
    assert 89 <= documents.oldest_age_seconds <= 95


def test_dead_letters_older_than_the_window_do_not_count_as_growth(broker):
    client = redis.Redis.from_url(REDIS_URL)
    now_ms = time.time() * 1000
    # GIVEN two dead letters from an hour ago and one from a minute ago
    client.zadd("dramatiq:pages.XQ", {"a": now_ms - 3_600_000, "b": now_ms - 3_500_000, "c": now_ms - 60_000})
    # WHEN growth is asked over 15 minutes THEN one, out of three in all
    (pages,) = RedisQueues(client).figures(["pages"], dead_window_seconds=900)
    assert (pages.dead, pages.dead_recent) == (3, 1)


RABBITMQ_URL = "amqp://guest:guest@127.0.0.1:5672/%2F"


@pytest.fixture
def rabbit() -> Iterator[tuple[RabbitmqBroker, str]]:
    """A real RabbitMQ broker and a queue name of this test's own (its .DQ and .XQ with it)."""
    broker = RabbitmqBroker(url=RABBITMQ_URL, confirm_delivery=True)
    name = f"test-figures-{uuid.uuid4().hex[:8]}"
    try:
        broker.declare_queue(name)
        broker.channel  # noqa: B018 (connects: fails here when RabbitMQ is down)
    except Exception as exc:
        pytest.fail(f"RabbitMQ at {RABBITMQ_URL} is unreachable ({exc}); start it with `scripts/services.sh rabbitmq`")
    yield broker, name
    for queue in (name, f"{name}.DQ", f"{name}.XQ"):
        broker.channel.queue_delete(queue)
    broker.close()


def test_ready_running_delayed_and_dead_counts_from_a_known_rabbitmq(rabbit):
    # GIVEN a queue with 7 messages, a worker holding 2 at a time (prefetch) that dead-lettered
    # one of them (RabbitMQ then pushes it the next), and 3 messages delayed
    broker, name = rabbit
    for n in range(7):
        broker.enqueue(message(name, n))
    consumer = broker.consume(name, prefetch=2, timeout=1000)
    fetched = [next(consumer), next(consumer)]
    consumer.nack(fetched[1])
    fetched.append(next(consumer))  # the nack goes out as the consumer asks for its next message
    for n in range(10, 13):
        broker.enqueue(message(name, n), delay=60_000)
    queues = RabbitQueues.for_broker_url(RABBITMQ_URL, "")

    # WHEN the figures are read (the management API refreshes its counts every few seconds)
    def counts() -> tuple[int, ...]:
        (figures,) = queues.figures([name])
        return (figures.ready, figures.running, figures.delayed, figures.dead)

    deadline = time.monotonic() + 30
    while counts() != (4, 2, 3, 1) and time.monotonic() < deadline:
        time.sleep(0.5)

    # THEN each count is what was put there, and its messages are said to be there
    assert counts() == (4, 2, 3, 1)
    assert queues.present([name], ["any-id"]) == [True]
    # AND once the queue is emptied, its messages are missing
    consumer.close()
    for queue in (name, f"{name}.DQ", f"{name}.XQ"):
        broker.channel.queue_purge(queue)
    deadline = time.monotonic() + 30
    while queues.present([name], ["any-id"]) != [False] and time.monotonic() < deadline:
        time.sleep(0.5)
    assert queues.present([name], ["any-id"]) == [False]
