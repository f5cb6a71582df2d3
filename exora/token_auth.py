"""Signing in with an API token (django-rest-knox), on the API and on sockets.

Apart from exora.tokens (the pages that make and revoke tokens) because REST framework's
settings import this class while knox's views import REST framework's views.
"""

from django.utils import timezone
from knox import auth
from knox.models import AuthToken


class TokenAuthentication(auth.TokenAuthentication):  # knox ships no types: its base is Any
    """knox's, less its look through all of the person's other tokens on every request to
    delete the expired ones: a second query per request, a fifth of a poll's cost at peak. The
    request's own token is still refused, and deleted, once expired; the others are deleted by
    the daily duties (`tokens_expired_delete`)."""

    def _cleanup_token(self, auth_token: AuthToken) -> bool:
        if auth_token.expiry is not None and auth_token.expiry < timezone.now():
            auth_token.delete()
            return True
        return False


def tokens_expired_delete() -> int:
    """Delete every expired token (their sockets close, documents.ws_auth); returns how many."""
    deleted, _ = AuthToken.objects.filter(expiry__lt=timezone.now()).delete()
    return deleted
