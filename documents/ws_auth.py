"""Who is on a socket: the browser's session, or an API token for other clients.

Browsers send their session cookie, so their sockets are checked against the allowed hosts
(`AllowedHostsOriginValidator`): another site's page cannot open one with the visitor's
cookie. Other clients send `Authorization: Token <key>`, as for the REST API (a django-rest-knox
token: stored hashed, expiring); a header a browser page cannot set needs no origin check.
Tokens are never taken from the URL, where access logs would keep them. The scope keeps which
token it was (`auth_token_digest`), so that revoking it closes the socket.

A socket is closed when its session ends (signing out) or its token is revoked, at once (a
group message, `AUTH_ENDED`), and when either expires or the person is deactivated (the
consumer checks `credentials_hold` every EXORA_SOCKET_RECHECK_SECONDS).
"""

import logging
from importlib import import_module
from typing import Any

from asgiref.sync import async_to_sync
from asgiref.typing import ASGIReceiveCallable, ASGISendCallable
from channels.auth import AuthMiddlewareStack
from channels.db import database_sync_to_async
from channels.layers import get_channel_layer
from channels.security.websocket import AllowedHostsOriginValidator
from django.conf import settings
from django.contrib.auth import SESSION_KEY
from django.contrib.auth.models import AnonymousUser, User
from django.contrib.auth.signals import user_logged_out
from django.db import transaction
from django.db.models import Q
from django.db.models.signals import post_delete
from django.dispatch import receiver
from django.utils import timezone
from knox.models import AuthToken
from rest_framework.exceptions import AuthenticationFailed

from documents.events import group_name
from exora.token_auth import TokenAuthentication

logger = logging.getLogger(__name__)

# The group message that closes a user's sockets opened with a session or token that ended.
AUTH_ENDED = "auth.ended"

Scope = dict[str, Any]
ASGIApp = Any  # channels ships no type hints


def _user_of_token(key: str) -> tuple[User | AnonymousUser, str]:
    """The token's user and the token's digest; nobody for an unknown, expired or revoked one."""
    try:
        user, token = TokenAuthentication().authenticate_credentials(key.encode())
    except AuthenticationFailed:
        return AnonymousUser(), ""
    return user, token.digest


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
        user, digest = await database_sync_to_async(_user_of_token)(key) if key else (AnonymousUser(), "")
        return await self.inner({**scope, "user": user, "auth_token_digest": digest}, receive, send)


class WebSocketAuth:
    """A token header → the token's user; otherwise the session, behind the origin check."""

    def __init__(self, inner: ASGIApp) -> None:
        self.by_token = TokenAuthMiddleware(inner)
        self.by_session = AllowedHostsOriginValidator(AuthMiddlewareStack(inner))

    async def __call__(self, scope: Scope, receive: ASGIReceiveCallable, send: ASGISendCallable) -> Any:
        if _token_in(scope) is not None:
            return await self.by_token(scope, receive, send)
        return await self.by_session(scope, receive, send)


# --- Whether an open socket's credentials still hold ----------------------------------------------


def credentials_hold(user_id: int, session_key: str, token_digest: str) -> bool:
    """The person is still active, and the session the socket opened with has not ended (nor
    expired), or its token is neither revoked nor expired."""
    if not User.objects.filter(id=user_id, is_active=True).exists():
        return False
    if token_digest:
        unexpired = Q(expiry__isnull=True) | Q(expiry__gt=timezone.now())
        return AuthToken.objects.filter(unexpired, digest=token_digest, user_id=user_id).exists()
    if session_key:
        store = import_module(settings.SESSION_ENGINE).SessionStore(session_key)
        return str(store.load().get(SESSION_KEY)) == str(user_id)  # an ended or expired one loads empty
    return False


def _tell_sockets_auth_ended(user_id: int, **which: str) -> None:
    try:
        layer = get_channel_layer()
        async_to_sync(layer.group_send)(group_name(user_id), {"type": AUTH_ENDED, **which})
    except Exception:
        logger.exception("could not tell user %s's sockets that a session or token ended", user_id)


@receiver(user_logged_out)
def _session_ended(sender: Any, request: Any, user: User | None, **kwargs: Any) -> None:
    if user is not None and request is not None and request.session.session_key:
        _tell_sockets_auth_ended(user.id, session_key=request.session.session_key)


@receiver(post_delete, sender=AuthToken)
def _token_revoked(sender: Any, instance: AuthToken, **kwargs: Any) -> None:
    user_id, digest = instance.user_id, instance.digest
    transaction.on_commit(lambda: _tell_sockets_auth_ended(user_id, token_digest=digest))
