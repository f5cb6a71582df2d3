"""The ASGI application `manage.py runweb` serves: HTTP through Django, WebSockets through Channels.

A web process works on EXORA_WEB_REQUESTS_AT_ONCE HTTP requests at a time, the others waiting
their turn (exora.admission). Every HTTP request's body is capped (exora.bodylimit): uvicorn
hands the body to the application as it arrives, so nothing past the cap is read.
"""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "exora.settings")
django_asgi_app = get_asgi_application()

# These import models: they need Django set up first.
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from django.conf import settings  # noqa: E402

from documents.routing import websocket_urlpatterns  # noqa: E402
from documents.ws_auth import WebSocketAuth  # noqa: E402
from exora.admission import AdmissionLimit  # noqa: E402
from exora.bodylimit import BodySizeLimit  # noqa: E402

application = ProtocolTypeRouter(
    {
        "http": AdmissionLimit(
            BodySizeLimit(django_asgi_app),
            at_once=settings.EXORA_WEB_REQUESTS_AT_ONCE,
            wait_seconds=settings.EXORA_DB_POOL_TIMEOUT_SECONDS,
        ),
        "websocket": WebSocketAuth(URLRouter(websocket_urlpatterns)),
    }
)
