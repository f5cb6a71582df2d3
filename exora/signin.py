"""What a person locked out of signing in is told (django-axes calls `locked_out`)."""

from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render


def locked_out(request: HttpRequest, original_response: Any = None, credentials: Any = None) -> HttpResponse:
    """429, saying how long the lock lasts and who can lift it."""
    context = {"minutes": settings.EXORA_LOGIN_LOCKOUT_MINUTES, "failures": settings.EXORA_LOGIN_FAILURES}
    return render(request, "registration/locked_out.html", context, status=429)
