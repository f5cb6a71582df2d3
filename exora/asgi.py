"""The ASGI application `manage.py runweb` serves: HTTP through Django, WebSockets through Channels.

Every HTTP request's body is capped first (exora.bodylimit): uvicorn hands the body to the
application as it arrives, so nothing past the cap is read.
"""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "exora.settings")
django_asgi_app = get_asgi_application()

# These import models: they need Django set up first.
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402

from documents.routing import websocket_urlpatterns  # noqa: E402
from documents.ws_auth import WebSocketAuth  # noqa: E402
from exora.bodylimit import BodySizeLimit  # noqa: E402

application = ProtocolTypeRouter(
    {
        "http": BodySizeLimit(django_asgi_app),
        "websocket": WebSocketAuth(URLRouter(websocket_urlpatterns)),
    }
)
