"""The request a signed-in view gets, for type checking: `login_required` guarantees the user."""

from django.contrib.auth.models import User
from django.http import HttpRequest


class SignedInRequest(HttpRequest):
    user: User
