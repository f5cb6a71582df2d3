"""A cap on the size of every request body, in the ASGI application itself, so that no request
can fill the disk or the memory whatever server runs it.

Django's ASGI handler reads the whole body into a temporary file before any middleware or
upload handler runs: a chunked POST of endless zeros to any URL would fill the temporary disk.
`BodySizeLimit` counts the bytes `receive()` delivers and answers 413 once the route's limit is
passed (a declared Content-Length over it is refused before a byte is read): the upload routes
take `EXORA_MAX_UPLOAD_MB` (and the multipart framing around the file), everything else
`EXORA_MAX_REQUEST_KB`.

The web server (uvicorn, `manage.py runweb`) hands the body to the application as it arrives,
so this cap is the only one needed. (daphne, which served Exora before, spooled every body to a
temporary file before calling any application, past any cap an application can set.)
"""

import json
from collections.abc import Awaitable, Callable
from typing import Any

from asgiref.typing import ASGIReceiveEvent
from django.conf import settings
from django.urls import reverse

# Room for the multipart framing and the other form fields around the file itself.
MULTIPART_SLACK = 64 * 1024

Scope = dict[str, Any]
Message = dict[str, Any]
Receive = Callable[[], Awaitable[Any]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Any  # Django's and Channels' applications differ in their hints

_upload_paths: frozenset[str] | None = None


def upload_paths() -> frozenset[str]:
    """The routes that take a document's file: the form fallback and the API's upload."""
    global _upload_paths
    if _upload_paths is None:
        _upload_paths = frozenset({reverse("documents:upload"), reverse("api:document-list")})
    return _upload_paths


def limit_for(method: str, path: str) -> int:
    """The most bytes of body a request to `path` may carry."""
    if method.upper() == "POST" and path in upload_paths():
        return int(settings.EXORA_MAX_UPLOAD_BYTES) + MULTIPART_SLACK
    return int(settings.EXORA_MAX_REQUEST_KB) * 1024


def refusal(limit: int) -> bytes:
    """The 413's body: what the limit is, in words."""
    size = f"{limit // (1024 * 1024)} MB" if limit >= 1024 * 1024 else f"{limit // 1024} KB"
    return json.dumps({"detail": f"The request is larger than the {size} this address accepts."}).encode()


def declared_length(headers: list[tuple[bytes, bytes]]) -> int | None:
    for name, value in headers:
        if name.lower() == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


async def send_json(send: Send, status: int, body: bytes, *headers: tuple[bytes, bytes]) -> None:
    """Answer a request from the ASGI layer, before Django sees it (or instead): a JSON body."""
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                *headers,
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


async def send_refusal(send: Send, limit: int) -> None:
    await send_json(send, 413, refusal(limit), (b"connection", b"close"))


class BodySizeLimit:
    """ASGI middleware for HTTP: 413 once a request's body passes its route's limit."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = limit_for(scope["method"], scope["path"])
        declared = declared_length(scope.get("headers", []))
        if declared is not None and declared > limit:
            await send_refusal(send, limit)  # not a byte of the body read
            return
        received = 0
        refused = False
        answered = False

        async def counting_receive() -> ASGIReceiveEvent | Message:
            nonlocal received, refused
            if refused:
                return {"type": "http.disconnect"}
            message: Message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    refused = True
                    if not answered:
                        await send_refusal(send, limit)
                    # The application sees the client gone: Django drops the request unread.
                    return {"type": "http.disconnect"}
            return message

        async def guarded_send(message: Message) -> None:
            nonlocal answered
            if refused:
                return  # the request was answered with 413 already
            answered = True
            await send(message)

        await self.app(scope, counting_receive, guarded_send)
