"""`manage.py create_api_token USERNAME`: a new API token for a person, printed this once."""

import sys
from typing import Any

from django.conf import settings
from django.contrib.auth.models import User
from django.core.management.base import BaseCommand, CommandError, CommandParser
from knox.models import AuthToken


class Command(BaseCommand):
    help = "Make an API token for USERNAME and print it (it is stored only as a hash)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username")

    def handle(self, *args: Any, username: str, **options: Any) -> None:
        user = User.objects.filter(username=username).first()
        if user is None:
            raise CommandError(f"There is no user {username!r}.")
        _, key = AuthToken.objects.create(user=user)
        if not sys.stdout.isatty():
            self.stderr.write(f"(a token expiring in {settings.EXORA_TOKEN_TTL_DAYS} days; keep it secret)")
        self.stdout.write(key)
