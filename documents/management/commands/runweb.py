"""The web role: the ASGI application (pages, API, sockets) served by uvicorn in
EXORA_WEB_PROCESSES processes on EXORA_HOST:EXORA_PORT."""

import os
import sys
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand

# On SIGTERM (a rollout, a scale-down) open requests and sockets get this long to finish.
GRACEFUL_SHUTDOWN_SECONDS = 20
KEEP_ALIVE_SECONDS = 75


class Command(BaseCommand):
    help = "Serve Exora over HTTP and WebSockets with EXORA_WEB_PROCESSES uvicorn processes."

    def handle(self, *args: Any, **options: Any) -> None:
        # One process runs one event loop on one core; Django's sync views and the upload's
        # checks run in its threads. Several processes share the port: the kernel spreads the
        # connections, a dead process is replaced, and a socket lost with one is reopened by the
        # page against another.
        arguments = [
            "uvicorn",
            "exora.asgi:application",
            "--host", settings.EXORA_HOST,
            "--port", str(settings.EXORA_PORT),
            "--workers", str(settings.EXORA_WEB_PROCESSES),
            "--ws", "websockets-sansio",
            # Channels' router answers HTTP and WebSocket, not ASGI's lifespan events.
            "--lifespan", "off",
            "--timeout-graceful-shutdown", str(GRACEFUL_SHUTDOWN_SECONDS),
            # Longer than a proxy's idle connections to us, so the proxy closes them first:
            # a connection closed under a request on its way is an error the client sees.
            "--timeout-keep-alive", str(KEEP_ALIVE_SECONDS),
            "--no-server-header",
        ]  # fmt: skip
        uvicorn = Path(sys.executable).with_name("uvicorn")
        sys.stdout.flush()
        os.execv(uvicorn, arguments)  # noqa: S606 (our own venv's uvicorn, fixed arguments)
