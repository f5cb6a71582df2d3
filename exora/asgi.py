"""The ASGI application the service runs: HTTP through Django, WebSockets through Channels.

Every HTTP request's body is capped first (exora.bodylimit), under any server; daphne, where it
is installed, spools bodies before it calls any application, so it gets the same cap in its
own request class (exora.daphne_limit).
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

try:
    from exora import daphne_limit
except ImportError:  # no daphne here: a server that streams bodies needs only BodySizeLimit
    pass
else:
    daphne_limit.bound_request_bodies()

application = ProtocolTypeRouter(
    {
        "http": BodySizeLimit(django_asgi_app),
        "websocket": WebSocketAuth(URLRouter(websocket_urlpatterns)),
    }
)
