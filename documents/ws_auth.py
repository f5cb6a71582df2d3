"""Who is on a socket: the browser's session, or an API token for other clients.

Browsers send their session cookie, so their sockets are checked against the allowed hosts
(`AllowedHostsOriginValidator`): another site's page cannot open one with the visitor's
cookie. Other clients send `Authorization: Token <key>`, as for the REST API; a header a
browser page cannot set needs no origin check. Tokens are never taken from the URL, where
access logs would keep them.
"""

from typing import Any

from asgiref.typing import ASGIReceiveCallable, ASGISendCallable
from channels.auth import AuthMiddlewareStack
from channels.db import database_sync_to_async
from channels.security.websocket import AllowedHostsOriginValidator
from django.contrib.auth.models import AnonymousUser, User
from rest_framework.authtoken.models import Token

Scope = dict[str, Any]
ASGIApp = Any  # channels ships no type hints


def _user_of_token(key: str) -> User | AnonymousUser:
    token = Token.objects.select_related("user").filter(key=key).first()
    if token is None or not token.user.is_active:
        return AnonymousUser()
    user: User = token.user
    return user


def _token_in(scope: Scope) -> str | None:
    for name, value in scope.get("headers", []):
        if name == b"authorization":
            kind, _, key = bytes(value).decode("latin-1").partition(" ")
            if kind.lower() == "token" and key.strip():
                return key.strip()
            return ""  # an Authorization header of another kind: nobody
    return None


class TokenAuthMiddleware:
    def __init__(self, inner: ASGIApp) -> None:
        self.inner = inner

    async def __call__(self, scope: Scope, receive: ASGIReceiveCallable, send: ASGISendCallable) -> Any:
        key = _token_in(scope)
        user = await database_sync_to_async(_user_of_token)(key) if key else AnonymousUser()
        return await self.inner({**scope, "user": user}, receive, send)


class WebSocketAuth:
    """A token header → the token's user; otherwise the session, behind the origin check."""

    def __init__(self, inner: ASGIApp) -> None:
        self.by_token = TokenAuthMiddleware(inner)
        self.by_session = AllowedHostsOriginValidator(AuthMiddlewareStack(inner))

    async def __call__(self, scope: Scope, receive: ASGIReceiveCallable, send: ASGISendCallable) -> Any:
        if _token_in(scope) is not None:
            return await self.by_token(scope, receive, send)
        return await self.by_session(scope, receive, send)
