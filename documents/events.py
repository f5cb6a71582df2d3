"""Telling people, over their sockets, that something they see has changed. Only that: what
else follows from a change (an ETA recorded, an e-mail) is documents.lifecycle's to do.

`document_changed(id)` sends the document's state to its owner; `queue_changed()` sends every
queued document's state to its owner, because when one document starts every position behind
it moves. Both compute the queue once (processing.api.queue_states) and send one group message
per user (group `user-<id>`, never a global group), whatever the number of sockets.

They are called after commit by documents.lifecycle, in web and worker processes alike,
through the Redis channel layer. Publishing never breaks processing: an error is logged and
the change is left to the next event or to the page's polling.
"""

import asyncio
import logging
import time
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, NotRequired, TypedDict
from uuid import UUID

import redis
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from channels_redis.pubsub import RedisPubSubChannelLayer
from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from documents.models import Document
from processing.api import QueueState, queue_states

logger = logging.getLogger(__name__)

EVENT_TYPE = "document.status"
# Finished documents are still shown (and sent on connect) this long, for the toast.
RECENTLY_FINISHED = timedelta(minutes=1)
SEQ_KEY = "{}:seq:{}"
STARTED_KEY = "{}:started:{}:{}"
SEQ_TTL = 30 * 86_400
VERSION_KEY = "{}:queue-version"
SNAPSHOTS_KEY = "{}:snapshots:{}:{}"

_redis: "redis.Redis[bytes] | None" = None


class DocumentState(TypedDict):
    """One document as its owner's socket and status.json show it."""

    type: str
    id: str
    status: str
    stage: str  # the status in a sentence
    position: int | None  # in the queue; None once it started
    eta_seconds: dict[str, int] | None  # {"p50", "p90"} until it starts
    pages_done: int
    pages_total: int | None
    message: str  # why there is no honest number, or why it moved
    finished: bool
    seq: NotRequired[int]  # the document's event number: a client drops older ones


@dataclass(frozen=True)
class _SharedStates:
    version: bytes | None  # of the queue, as the last publish left it
    computed_at: float
    states: dict[str, QueueState]


def group_name(user_id: int) -> str:
    return f"user-{user_id}"


def _client() -> "redis.Redis[bytes]":
    global _redis
    if _redis is None:
        _redis = redis.Redis.from_url(settings.EXORA_EVENTS_REDIS_URL, socket_timeout=5)
    return _redis


# --- What a user sees ------------------------------------------------------------------------


def payload(document: Document, state: QueueState | None) -> DocumentState:
    """The JSON of one document as the socket and status.json send it (without `seq`)."""
    position = state.position if state else None
    return {
        "type": EVENT_TYPE,
        "id": str(document.id),
        "status": document.status,
        "stage": document.status_text,
        "position": position,
        "eta_seconds": state.eta_seconds if state else None,
        "pages_done": document.pages_done,
        "pages_total": document.page_count,
        "message": state.message if state else "",
        "finished": document.is_finished,
    }


def open_documents_of(user_id: int) -> list[DocumentState]:
    """The snapshot: every unfinished document of the user, and those finished a minute ago."""
    since = timezone.now() - RECENTLY_FINISHED
    documents = list(
        Document.objects.filter(owner_id=user_id)
        .exclude(status__in=Document.FINISHED, finished_at__lt=since)
        .order_by("created_at")
    )
    unfinished = {str(d.id) for d in documents if not d.is_finished}
    states = _shared_queue_states(unfinished) if unfinished else {}
    return with_seq([payload(d, states.get(str(d.id))) for d in documents])


_snapshot_cache: dict[str, _SharedStates] = {}
SNAPSHOT_CACHE_SECONDS = 2.0


def _shared_queue_states(needed: set[str]) -> dict[str, QueueState]:
    """The queue for snapshots, shared by the sockets connecting at once (a page reload of
    many people after a restart) as long as nothing was published meanwhile: each publish
    bumps a version, so a snapshot never carries a state older than an event already sent."""
    version = _client().get(VERSION_KEY.format(settings.EXORA_EVENTS_PREFIX))
    cached = _snapshot_cache.get("states")
    fresh = cached and cached.version == version and time.monotonic() - cached.computed_at < SNAPSHOT_CACHE_SECONDS
    if cached and fresh and needed <= cached.states.keys():  # a document it does not know: count again
        return cached.states
    states = queue_states()
    _snapshot_cache["states"] = _SharedStates(version, time.monotonic(), states)
    return states


def state_of(document: Document) -> DocumentState:
    """One document's payload, for status.json; computes the queue when it is unfinished."""
    state = None if document.is_finished else queue_states().get(str(document.id))
    return with_seq([payload(document, state)], advance=False)[0]


def with_seq(payloads: list[DocumentState], *, advance: bool = True) -> list[DocumentState]:
    """Number each payload with its document's next sequence number (a Redis counter per
    document, shared by every process), so a client can drop a late, older state."""
    if not payloads:
        return payloads
    keys = [SEQ_KEY.format(settings.EXORA_EVENTS_PREFIX, item["id"]) for item in payloads]
    # One script for all when advancing: a thousand queued documents move at each start.
    seqs = _client().register_script(_NEXT_SEQS)(keys=keys, args=[SEQ_TTL]) if advance else _client().mget(keys)
    for item, seq in zip(payloads, seqs, strict=True):
        item["seq"] = int(seq or 0)
    return payloads


# Each counter is forgotten a month after its last use: no page stays open that long.
_NEXT_SEQS = """
local seqs = {}
for i, key in ipairs(KEYS) do
    seqs[i] = redis.call('INCR', key)
    redis.call('EXPIRE', key, ARGV[1])
end
return seqs
"""


# --- Publishing --------------------------------------------------------------------------------


def document_changed(
    document_id: str | UUID, *, queue: bool = False, states: dict[str, QueueState] | None = None
) -> None:
    """Send the document's state to its owner; with `queue`, every queued document's too (a
    document left the queue, or a priority one entered it). `states`: the queue, when the
    caller has just computed it."""
    documents_changed([str(document_id)], queue=queue, states=states)


def documents_changed(
    document_ids: list[str], *, queue: bool = False, states: dict[str, QueueState] | None = None
) -> None:
    """`document_changed` for several documents at once: the queue is computed once."""
    try:
        _publish(list(document_ids), queue=queue, states=states)
    except Exception:
        logger.exception("could not publish the change of %d documents", len(document_ids))


def queue_changed() -> None:
    """Send every queued document's position and ETA to its owner."""
    try:
        _publish([], queue=True)
    except Exception:
        logger.exception("could not publish a change of the queue")


def document_deleted(document_id: str, owner_id: int, *, queue: bool) -> None:
    """Tell the owner's pages the document is gone; with `queue`, everyone behind it moved up."""
    gone: DocumentState = {
        "type": EVENT_TYPE,
        "id": document_id,
        "status": "deleted",
        "stage": "Deleted",
        "position": None,
        "eta_seconds": None,
        "pages_done": 0,
        "pages_total": None,
        "message": "",
        "finished": True,
    }
    try:
        send_to_users({owner_id: with_seq([gone])})
    except Exception:
        logger.exception("could not publish the deletion of document %s", document_id)
    if queue:
        queue_changed()


def allow_snapshot(user_id: int) -> bool:
    """Whether the user's sockets may have one more snapshot this minute
    (EXORA_SOCKET_SNAPSHOTS_PER_MINUTE): each one counts the queue and reads every open document."""
    key = SNAPSHOTS_KEY.format(settings.EXORA_EVENTS_PREFIX, user_id, int(time.time() // 60))
    try:
        pipe = _client().pipeline()
        pipe.incr(key)
        pipe.expire(key, 120)
        taken = int(pipe.execute()[0])
    except redis.RedisError:
        logger.warning("could not count the snapshots of user %s; allowing this one", user_id)
        return True
    return taken <= settings.EXORA_SOCKET_SNAPSHOTS_PER_MINUTE


def first_page_started(document_id: str, enqueued_at: datetime) -> None:
    """A page of the document starts being read: the first one of a run takes the document out
    of the queue, which moves everyone behind it (the others are not published)."""
    try:
        first = _client().set(
            STARTED_KEY.format(settings.EXORA_EVENTS_PREFIX, document_id, enqueued_at.timestamp()),
            1,
            nx=True,
            ex=86_400,
        )
    except redis.RedisError:
        logger.exception("could not note that document %s started", document_id)
        return
    if first:
        document_changed(document_id, queue=True)


def _publish(document_ids: list[str | UUID], *, queue: bool, states: dict[str, QueueState] | None = None) -> None:
    _client().incr(VERSION_KEY.format(settings.EXORA_EVENTS_PREFIX))
    states = queue_states() if states is None else states
    changed = {str(i) for i in document_ids}
    wanted = set(changed)
    documents = Document.objects.filter(id__in=changed)
    if queue:
        wanted |= {i for i, s in states.items() if s.position is not None}
        # The unfinished documents by their status, not by a list of a thousand ids.
        documents = Document.objects.filter(Q(id__in=changed) | ~Q(status__in=Document.FINISHED))
    by_user: dict[int, list[DocumentState]] = defaultdict(list)
    items = []
    for document in documents.defer("extraction"):
        if str(document.id) not in wanted:
            continue
        item = payload(document, states.get(str(document.id)))
        items.append(item)
        by_user[document.owner_id].append(item)
    with_seq(items)
    if by_user:
        send_to_users(dict(by_user))


def send_to_users(by_user: dict[int, list[DocumentState]]) -> None:
    """One group message per user, all sent at once."""
    layer = get_channel_layer()
    messages = {group_name(user): {"type": EVENT_TYPE, "documents": items} for user, items in by_user.items()}
    if isinstance(layer, RedisPubSubChannelLayer):
        _publish_in_one_round_trip(layer, messages)
        return

    async def send_all() -> None:
        await asyncio.gather(*(layer.group_send(group, message) for group, message in messages.items()))

    async_to_sync(send_all)()


def _publish_in_one_round_trip(layer: RedisPubSubChannelLayer, messages: dict[str, dict[str, Any]]) -> None:
    """What the pub/sub layer's group_send does, for every group in one Redis pipeline: it
    publishes one message at a time behind a lock, 185 ms for 1,000 users. The channel name is
    the layer's own (channels-redis 4.3, one host, as settings.CHANNEL_LAYERS has it); the
    socket tests fail if it ever changes."""
    prefix = settings.EXORA_CHANNEL_LAYER_PREFIX
    pipe = _client().pipeline(transaction=False)
    for group, message in messages.items():
        pipe.publish(f"{prefix}__group__{group}", layer.serialize(message))
    pipe.execute()
