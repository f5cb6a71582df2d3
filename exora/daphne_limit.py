"""The body cap of exora.bodylimit, for daphne.

daphne hands a request to the application only once Twisted has received its whole body, which
Twisted spools into a temporary file as it comes: a cap in the application alone would answer
413 only after an endless body had filled the disk. This gives daphne a request class that
counts the body as Twisted receives it, with the application's own limits, and answers 413 and
closes the connection once a route's limit is passed (or at once for a declared Content-Length
over it), before any of it is written anywhere.

Installed by exora/asgi.py, which daphne imports before it starts listening; a server that
streams bodies to the application never uses daphne's request class, so it changes nothing
there.
"""

import io
from typing import Any
from urllib.parse import unquote

from daphne import http_protocol

from exora.bodylimit import limit_for, refusal


def _refuse(request: Any, limit: int) -> None:
    """Answer 413 on the raw connection and close it: the request never reaches daphne's
    application queue, and what else the client sends is dropped."""
    request.exora_refused = True
    request.content = io.BytesIO()  # Twisted and daphne expect a content file on every request
    body = refusal(limit)
    head = (
        b"HTTP/1.1 413 Payload Too Large\r\n"
        b"Content-Type: application/json\r\n"
        b"Content-Length: " + str(len(body)).encode() + b"\r\n"
        b"Connection: close\r\n\r\n"
    )
    request.channel.transport.write(head + body)
    request.channel.loseConnection()


class BoundedWebRequest(http_protocol.WebRequest):  # daphne ships no types: its base is Any
    """daphne's request, with the body counted against its route's limit as it arrives."""

    exora_refused = False
    exora_limit = 0
    exora_received = 0

    def gotLength(self, length: int | None) -> None:
        method = bytes(self.channel._command).decode("latin-1")
        path = unquote(bytes(self.channel._path).split(b"?", 1)[0].decode("latin-1"))
        self.exora_limit = limit_for(method, path)
        if length is not None and length > self.exora_limit:
            _refuse(self, self.exora_limit)
            return
        super().gotLength(length)

    def handleContentChunk(self, data: bytes) -> None:
        if self.exora_refused:
            return
        self.exora_received += len(data)
        if self.exora_received > self.exora_limit:
            _refuse(self, self.exora_limit)
            return
        super().handleContentChunk(data)

    def process(self) -> Any:
        if self.exora_refused:
            return None  # answered already: the application never sees it
        return super().process()


def bound_request_bodies() -> None:
    """Make daphne build its requests from `BoundedWebRequest` (its factory looks the class up
    by name each time it builds a connection)."""
    http_protocol.WebRequest = BoundedWebRequest
