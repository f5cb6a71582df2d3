"""What the service needs to know of the broker that carries its work, whichever it is: the
figures of its queues, and whether the messages the database sent are still in it.

Recovery, the operators' dashboard, /metrics and the alerts read the broker through
`broker_queues()`, never through a broker's own keys:

- Redis (dramatiq's key layout, dramatiq/brokers/redis/dispatch.lua; per queue `q`: the list
  `<ns>:q` of ready ids, the hash `<ns>:q.msgs` of ready and fetched-but-unacknowledged
  messages, `<ns>:q.DQ(.msgs)` delayed ones, the sorted set `<ns>:q.XQ` of dead letters by
  time of death) answers exactly: each figure is an O(1) command in one pipeline, and a
  message is looked up by its id.
- RabbitMQ (its management API) gives each queue's ready and unacknowledged counts, and the
  `.DQ` (delayed) and `.XQ` (dead letters) queues'. It keeps messages on disk and gives a dead
  connection's unacknowledged messages back, so a message goes missing only when its queue
  lost everything (purged, deleted, a broker that lost its disk): it cannot tell one message
  from another, and says a message is there while its queue holds any.
"""

import base64
import json
import time
import urllib.parse
import urllib.request
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

import dramatiq
import redis
from django.conf import settings
from dramatiq.brokers.rabbitmq import RabbitmqBroker
from dramatiq.brokers.redis import RedisBroker

from processing import lanes

if TYPE_CHECKING:
    # dramatiq's client does not decode responses: they are bytes.
    RedisClient = redis.Redis[bytes]
else:
    RedisClient = redis.Redis  # not subscriptable at run time

MANAGEMENT_TIMEOUT_SECONDS = 5


@dataclass(frozen=True)
class QueueFigures:
    name: str
    ready: int  # waiting to be fetched
    running: int  # fetched and not acknowledged: being run, or prefetched
    delayed: int  # waiting for a retry's backoff
    dead: int  # dead-lettered
    dead_recent: int  # dead-lettered within the window asked for (RabbitMQ: all of them)
    oldest_age_seconds: float | None  # of the message first in line (RabbitMQ: not told)


class BrokerQueues(Protocol):
    kind: str

    def figures(self, names: Iterable[str], dead_window_seconds: int = 900) -> list[QueueFigures]:
        """Per queue: ready, running, delayed and dead-letter counts."""

    def present(self, queue_names: Sequence[str], message_ids: Sequence[str]) -> list[bool]:
        """Whether each message is still in one of these queues (waiting, delayed, or running)."""

    def documents_with_pending_message(self, document_ids: Collection[str]) -> set[str]:
        """Those of these documents with a message of the documents queue (a start, an
        extraction) there: one look at the queue for all of them."""

    def ping(self) -> bool: ...


def broker_queues(broker: dramatiq.Broker | None = None) -> BrokerQueues | None:
    """The queues of the broker this process sends to; None with the in-memory stub broker."""
    broker = broker or dramatiq.get_broker()
    if isinstance(broker, RedisBroker):
        return RedisQueues(broker.client, broker.namespace)
    if isinstance(broker, RabbitmqBroker):
        return RabbitQueues.for_broker_url(settings.EXORA_BROKER_URL, settings.EXORA_RABBITMQ_MANAGEMENT_URL)
    return None


class RedisQueues:
    kind = "redis"

    def __init__(self, client: RedisClient, namespace: str = "dramatiq") -> None:
        self.client = client
        self.namespace = namespace

    def figures(self, names: Iterable[str], dead_window_seconds: int = 900) -> list[QueueFigures]:
        names = list(names)
        now_ms = time.time() * 1000
        pipe = self.client.pipeline(transaction=False)
        for name in names:
            key = f"{self.namespace}:{name}"
            pipe.llen(key)
            pipe.hlen(f"{key}.msgs")
            pipe.hlen(f"{key}.DQ.msgs")
            pipe.zcard(f"{key}.XQ")
            pipe.zcount(f"{key}.XQ", now_ms - dead_window_seconds * 1000, "+inf")
            pipe.lindex(key, 0)
        answers = pipe.execute()
        # The oldest ready message's age, from the head of each ready list, in one more round trip.
        heads: dict[str, int] = {}
        pipe = self.client.pipeline(transaction=False)
        for i, name in enumerate(names):
            head = answers[i * 6 + 5]
            if head is not None:
                heads[name] = len(heads)
                pipe.hget(f"{self.namespace}:{name}.msgs", head)
        head_messages = pipe.execute() if heads else []
        figures = []
        for i, name in enumerate(names):
            ready, in_hash, delayed, dead, dead_recent, _ = answers[i * 6 : i * 6 + 6]
            oldest = _age_seconds(head_messages[heads[name]], now_ms) if name in heads else None
            figures.append(QueueFigures(name, ready, max(in_hash - ready, 0), delayed, dead, dead_recent, oldest))
        return figures

    def present(self, queue_names: Sequence[str], message_ids: Sequence[str]) -> list[bool]:
        if not message_ids:
            return []
        hashes = [f"{self.namespace}:{q}{delayed}.msgs" for q in queue_names for delayed in ("", ".DQ")]
        pipe = self.client.pipeline(transaction=False)
        for message_id in message_ids:
            for key in hashes:
                pipe.hexists(key, message_id or "-")
        answers = pipe.execute()
        return [any(answers[i : i + len(hashes)]) for i in range(0, len(answers), len(hashes))]

    def documents_with_pending_message(self, document_ids: Collection[str]) -> set[str]:
        # The documents queue holds few messages (starts and extractions): they are read.
        wanted, found = set(document_ids), set[str]()
        for queue in (lanes.DOCUMENTS_QUEUE, f"{lanes.DOCUMENTS_QUEUE}.DQ"):
            for raw in self.client.hvals(f"{self.namespace}:{queue}.msgs"):
                found.update(arg for arg in json.loads(raw).get("args", []) if arg in wanted)
        return found

    def ping(self) -> bool:
        return bool(self.client.ping())


def _age_seconds(raw: bytes | None, now_ms: float) -> float | None:
    if raw is None:  # acknowledged between the two round trips
        return None
    try:
        enqueued_ms: float = json.loads(raw)["message_timestamp"]
    except (ValueError, KeyError, TypeError):
        return None
    return round(max(now_ms - enqueued_ms, 0) / 1000, 1)


class RabbitQueues:
    kind = "rabbitmq"

    def __init__(self, management_url: str, vhost: str, user: str, password: str) -> None:
        self.management_url = management_url.rstrip("/")
        self.vhost = vhost
        self.user, self.password = user, password

    @classmethod
    def for_broker_url(cls, broker_url: str, management_url: str) -> "RabbitQueues":
        """The management API of the broker at `broker_url` (amqp://user:password@host/vhost),
        with the same credentials; at `management_url`, or the broker's host on port 15672."""
        parts = urllib.parse.urlsplit(broker_url)
        vhost = urllib.parse.unquote(parts.path[1:]) if len(parts.path) > 1 else "/"
        url = management_url or f"http://{parts.hostname or '127.0.0.1'}:15672"
        user = urllib.parse.unquote(parts.username or "guest")
        password = urllib.parse.unquote(parts.password or "guest")
        return cls(url, vhost, user, password)

    def _queues(self) -> dict[str, dict[str, int]]:
        vhost = urllib.parse.quote(self.vhost, safe="")
        columns = "name,messages,messages_ready,messages_unacknowledged"
        url = f"{self.management_url}/api/queues/{vhost}?columns={columns}"
        request = urllib.request.Request(url)  # noqa: S310 (an http URL of our settings)
        credentials = base64.b64encode(f"{self.user}:{self.password}".encode()).decode()
        request.add_header("Authorization", f"Basic {credentials}")
        with urllib.request.urlopen(request, timeout=MANAGEMENT_TIMEOUT_SECONDS) as response:  # noqa: S310
            return {queue["name"]: queue for queue in json.loads(response.read())}

    def figures(self, names: Iterable[str], dead_window_seconds: int = 900) -> list[QueueFigures]:
        queues = self._queues()

        def count(name: str, field: str = "messages") -> int:
            return int(queues.get(name, {}).get(field, 0) or 0)

        return [
            QueueFigures(
                name=name,
                ready=count(name, "messages_ready"),
                running=count(name, "messages_unacknowledged"),
                delayed=count(f"{name}.DQ"),
                dead=count(f"{name}.XQ"),
                dead_recent=count(f"{name}.XQ"),
                oldest_age_seconds=None,
            )
            for name in names
        ]

    def present(self, queue_names: Sequence[str], message_ids: Sequence[str]) -> list[bool]:
        if not message_ids:
            return []
        held = sum(f.ready + f.running + f.delayed for f in self.figures(queue_names))
        return [held > 0] * len(message_ids)

    def documents_with_pending_message(self, document_ids: Collection[str]) -> set[str]:
        # The management API counts messages without reading them: any message there may be theirs.
        [documents] = self.figures([lanes.DOCUMENTS_QUEUE])
        return set(document_ids) if documents.ready + documents.running + documents.delayed > 0 else set()

    def ping(self) -> bool:
        self._queues()
        return True
