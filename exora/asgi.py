"""The ASGI application `manage.py runweb` serves: HTTP through Django, WebSockets through Channels."""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "exora.settings")
django_asgi_app = get_asgi_application()

# These import models: they need Django set up first.
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402

from documents.routing import websocket_urlpatterns  # noqa: E402
from documents.ws_auth import WebSocketAuth  # noqa: E402

application = ProtocolTypeRouter(
    {
        "http": django_asgi_app,
        "websocket": WebSocketAuth(URLRouter(websocket_urlpatterns)),
    }
)
