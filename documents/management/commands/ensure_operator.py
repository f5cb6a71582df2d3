"""Create the first operator account when there is none, and say how to sign in.

A generated password is never written where logs keep it: it is shown once on a terminal, or,
when the output is not one (a container's log, a CI run), written to a 0600 file in the data
dir whose path is printed instead. With EXORA_STAFF_2FA on, it says how to enrol an
authenticator app.
"""

import os
import secrets
import sys
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandParser

PASSWORD_FILE = "operator-password"  # noqa: S105 (a file name)


class Command(BaseCommand):
    help = "Create a staff superuser if no superuser exists yet, and print how to sign in."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--url", default="http://127.0.0.1:8000/")

    def handle(self, *args: Any, url: str, **options: Any) -> None:
        user_model = get_user_model()
        if user_model.objects.filter(is_superuser=True).exists():
            self.stdout.write(f"Sign in at {url} with your operator account.")
            self._explain_two_factor(url)
            return
        username = settings.EXORA_ADMIN_USER
        password = settings.EXORA_ADMIN_PASSWORD or secrets.token_urlsafe(18)
        user_model.objects.create_superuser(username=username, email="", password=password)
        if settings.EXORA_ADMIN_PASSWORD:
            told = "the password in EXORA_ADMIN_PASSWORD"
        elif self._on_a_terminal():
            told = password  # shown this once, to a person, not to a log
        else:
            told = f"the password in {self._write_private(password)} (delete the file once you have it)"
        self.stdout.write(self.style.SUCCESS(f"Created operator account. Sign in at {url} as {username} with {told}."))
        self._explain_two_factor(url)

    def _on_a_terminal(self) -> bool:
        stream = getattr(self.stdout, "_out", sys.stdout)
        return bool(getattr(stream, "isatty", lambda: False)())

    def _write_private(self, password: str) -> Path:
        path = Path(settings.DATA_DIR) / PASSWORD_FILE
        path.unlink(missing_ok=True)
        with open(path, "x", opener=lambda name, flags: os.open(name, flags, 0o600)) as file:
            file.write(password + "\n")
        return path

    def _explain_two_factor(self, url: str) -> None:
        if settings.EXORA_STAFF_2FA:
            self.stdout.write(
                f"Operators' pages need a one-time code (EXORA_STAFF_2FA): after signing in, open "
                f"{url.rstrip('/')}/accounts/two-factor/ and add the key it shows to an authenticator app."
            )
