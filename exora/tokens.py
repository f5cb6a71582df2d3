"""A person's API tokens (django-rest-knox): made here or with `manage.py create_api_token`,
shown once when made, stored only as a hash, expiring after EXORA_TOKEN_TTL_DAYS, and revoked
by their owner here (an operator can revoke any in the admin). Revoking one closes the sockets
it opened."""

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST
from drf_spectacular.utils import extend_schema
from knox.models import AuthToken
from knox.views import LogoutView

from exora.requests import SignedInRequest
from exora.token_auth import TokenAuthentication


@login_required
def tokens(request: SignedInRequest) -> HttpResponse:
    """The person's tokens, and a new one's key when one was just made (shown this once)."""
    made = ""
    if request.method == "POST":
        _, made = AuthToken.objects.create(user=request.user)
    context = {
        "tokens": AuthToken.objects.filter(user=request.user).order_by("-created"),
        "made": made,
        "ttl_days": settings.EXORA_TOKEN_TTL_DAYS,
    }
    return render(request, "registration/tokens.html", context)


@login_required
@require_POST
def revoke(request: SignedInRequest) -> HttpResponse:
    AuthToken.objects.filter(user=request.user, token_key=request.POST.get("token_key", "")).delete()
    return redirect("tokens")


@extend_schema(request=None, responses={204: None}, summary="Revoke the token this request signs with")
class ApiLogoutView(LogoutView):  # knox ships no types: its base is Any
    """POST /api/v1/auth/logout/: a program revokes its own token (its sockets close)."""

    authentication_classes = (TokenAuthentication,)
