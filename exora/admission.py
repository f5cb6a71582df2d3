"""How many HTTP requests a web process works on at once.

Django runs every request of an ASGI server on a thread of its own. Under a burst a hundred
such threads share the process's one core and its pool of database connections: each advances
a little at a time, and all of them answer late. `AdmissionLimit` lets
EXORA_WEB_REQUESTS_AT_ONCE requests in at a time and keeps the others waiting their turn, in
the order they became ready, where a waiting request is a parked coroutine that costs nothing:
the first ready are answered first. A request that waits longer than
EXORA_DB_POOL_TIMEOUT_SECONDS is answered 503 with Retry-After, as one that waited that long
for a database connection is (exora.errors).

A request waits its turn once its body has arrived (Django reads the whole body before its
view runs), so a large upload over a slow line keeps no one waiting while it comes in; and it
gives up its place once its answer starts, so a large download to a slow client does not
either. Health probes never wait: a busy process is alive.
"""

import asyncio
import json
from typing import Any

from exora.bodylimit import ASGIApp, Message, Scope, Send, send_json
from exora.errors import BUSY_MESSAGE, RETRY_AFTER_SECONDS

UNLIMITED_PATHS = frozenset({"/healthz", "/readyz"})


class AdmissionLimit:
    """ASGI middleware for HTTP: at most `at_once` requests, their bodies read, in the application
    at a time."""

    def __init__(self, app: ASGIApp, at_once: int, wait_seconds: float) -> None:
        self.app = app
        self.at_once = at_once
        self.wait_seconds = wait_seconds
        # Made anew for each event loop that calls: a semaphore belongs to one loop (a server
        # process runs one; tests run one each).
        self._loop: asyncio.AbstractEventLoop | None = None
        self._places = asyncio.Semaphore(at_once)

    async def __call__(self, scope: Scope, receive: Any, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in UNLIMITED_PATHS:
            await self.app(scope, receive, send)
            return
        loop = asyncio.get_running_loop()
        if self._loop is not loop:
            self._loop, self._places = loop, asyncio.Semaphore(self.at_once)
        places = self._places
        holding = False
        refused = False

        def leave() -> None:
            nonlocal holding
            if holding:
                holding = False
                places.release()

        async def receive_then_wait_turn() -> Message:
            nonlocal holding, refused
            if refused:
                return {"type": "http.disconnect"}
            message: Message = await receive()
            body_complete = message["type"] == "http.request" and not message.get("more_body", False)
            if body_complete and not holding:
                try:
                    await asyncio.wait_for(places.acquire(), self.wait_seconds)
                except TimeoutError:
                    refused = True
                    await send_busy(send)
                    # The application sees the client gone: Django drops the request unread.
                    return {"type": "http.disconnect"}
                holding = True
            return message

        async def send_then_leave(message: Message) -> None:
            if refused:
                return  # answered 503 already
            await send(message)
            if message["type"] == "http.response.start":
                leave()

        try:
            await self.app(scope, receive_then_wait_turn, send_then_leave)
        finally:
            leave()


async def send_busy(send: Send) -> None:
    body = json.dumps({"detail": BUSY_MESSAGE}).encode()
    await send_json(send, 503, body, (b"retry-after", str(RETRY_AFTER_SECONDS).encode()))
