"""The socket of the documents pages: `/ws/documents/`.

On connect, a snapshot (one message per open document); then the events of the user's
group, coalesced to at most one message per document per second. The last state always
arrives: a state that comes too soon waits for the end of the second, replaced by any newer
one meanwhile. Snapshots, on connect or asked for, are limited per person and minute.

The socket closes (4401) when the session or token it opened with ends, is revoked or expires
(documents.ws_auth).
"""

import asyncio
from typing import Any

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from django.conf import settings

from access import records
from documents import events, ws_auth

MIN_INTERVAL = 1.0  # seconds between two messages about one document
REFUSED = 4401
TOO_MANY = 4429


class DocumentStatusConsumer(AsyncJsonWebsocketConsumer):
    async def connect(self) -> None:
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            await self.close(code=REFUSED)  # before accept: the handshake is refused
            return
        session = self.scope.get("session")
        self.token_digest: str = self.scope.get("auth_token_digest", "")
        self.session_key: str = "" if self.token_digest or session is None else (session.session_key or "")
        await self.accept()
        if not await database_sync_to_async(events.allow_snapshot)(user.id):
            # Accepted first, so that the client hears why (a refused handshake says nothing).
            await self._refuse_snapshot()
            await self.close(code=TOO_MANY)
            return
        self.group = events.group_name(user.id)
        self.last_sent: dict[str, float] = {}
        self.last_seq: dict[str, int] = {}
        self.pending: dict[str, events.DocumentState] = {}
        self.timers: dict[str, asyncio.TimerHandle] = {}
        self.flushing: set[asyncio.Future[None]] = set()
        # Join before reading the snapshot, so no change falls between the two.
        await self.channel_layer.group_add(self.group, self.channel_name)
        self.watching = asyncio.ensure_future(self._close_when_credentials_end(user.id))
        await self._send_snapshot()

    async def disconnect(self, code: int) -> None:
        if hasattr(self, "watching"):
            self.watching.cancel()
        if hasattr(self, "group"):
            for timer in self.timers.values():
                timer.cancel()
            await self.channel_layer.group_discard(self.group, self.channel_name)

    async def receive_json(self, content: dict[str, Any], **kwargs: Any) -> None:
        """Clients only listen; a {"type": "snapshot"} asks for a fresh snapshot."""
        if content.get("type") == "snapshot":
            if await database_sync_to_async(events.allow_snapshot)(self.scope["user"].id):
                await self._send_snapshot()
            else:
                await self._refuse_snapshot()

    async def _refuse_snapshot(self) -> None:
        limit = settings.EXORA_SOCKET_SNAPSHOTS_PER_MINUTE
        await self.send_json({"type": "refused", "message": f"Too many snapshots: at most {limit} a minute."})

    async def auth_ended(self, event: dict[str, Any]) -> None:
        """A group message: a session of this user ended, or a token was revoked."""
        ended_session = event.get("session_key") and event["session_key"] == self.session_key
        revoked_token = event.get("token_digest") and event["token_digest"] == self.token_digest
        if ended_session or revoked_token:
            await self.close(code=REFUSED)

    async def _close_when_credentials_end(self, user_id: int) -> None:
        """Expiry sends no message: look again every EXORA_SOCKET_RECHECK_SECONDS."""
        hold = database_sync_to_async(ws_auth.credentials_hold)
        while True:
            await asyncio.sleep(settings.EXORA_SOCKET_RECHECK_SECONDS)
            if not await hold(user_id, self.session_key, self.token_digest):
                await self.close(code=REFUSED)
                return

    async def _send_snapshot(self) -> None:
        user = self.scope["user"]
        snapshot = await database_sync_to_async(events.open_documents_of)(user.id)
        shown = [records.DocumentRef(item["id"], user.id) for item in snapshot]
        await database_sync_to_async(records.record)(
            user, records.Door.SOCKET, shown, records.address_of(self.scope), once_per_window=True
        )
        for item in snapshot:
            await self._send_now(item)

    async def dispatch(self, message: dict[str, Any]) -> None:
        # Channels closes stale database connections before every handler, through a hop to a
        # worker thread: 28% of the web process's CPU (daphne then) with 1,000 sockets open. A status event touches
        # no database; the handlers that do go through database_sync_to_async, which closes
        # them itself.
        if message["type"] == events.EVENT_TYPE:
            await self.document_status(message)
        else:
            await super().dispatch(message)

    async def document_status(self, event: dict[str, Any]) -> None:
        """A group message from events.send_to_users: several documents of this user."""
        loop = asyncio.get_running_loop()
        for item in event["documents"]:
            document_id = item["id"]
            waiting = self.pending.get(document_id)
            if item["seq"] <= max(self.last_seq.get(document_id, 0), waiting.get("seq", 0) if waiting else 0):
                continue  # an older state than one already sent or waiting
            self.pending[document_id] = item
            if document_id in self.timers:
                continue  # the waiting send will take this newer state
            wait = self.last_sent.get(document_id, -MIN_INTERVAL) + MIN_INTERVAL - loop.time()
            if wait <= 0:
                await self._flush(document_id)
            else:
                self.timers[document_id] = loop.call_later(wait, self._flush_soon, document_id)

    def _flush_soon(self, document_id: str) -> None:
        # The loop keeps only a weak reference to a task: keep ours until it is done.
        task = asyncio.ensure_future(self._flush(document_id))
        self.flushing.add(task)
        task.add_done_callback(self.flushing.discard)

    async def _flush(self, document_id: str) -> None:
        self.timers.pop(document_id, None)
        item = self.pending.pop(document_id, None)
        if item is not None:
            await self._send_now(item)

    async def _send_now(self, item: events.DocumentState) -> None:
        document_id = item["id"]
        self.last_sent[document_id] = asyncio.get_running_loop().time()
        self.last_seq[document_id] = max(self.last_seq.get(document_id, 0), item["seq"])
        await self.send_json(item)
