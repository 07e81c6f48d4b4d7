"""ASGI entry point: a Channels ProtocolTypeRouter.

HTTP under /v1/ (and /metrics) goes to the proxy's own ASGI handler (no Django middleware on the
hot path); everything else goes to Django. WebSockets carry the live request feed, for signed-in
members (Django session, or a Clerk `__session` cookie when Clerk is on), from allowed origins only.
"""

import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "optera.settings")

from channels.routing import ProtocolTypeRouter  # noqa: E402
from django.core.asgi import get_asgi_application  # noqa: E402

django_application = get_asgi_application()

from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import URLRouter  # noqa: E402
from channels.security.websocket import AllowedHostsOriginValidator  # noqa: E402
from django.urls import path  # noqa: E402

from accounts.clerk.middleware import ClerkWebsocketMiddleware  # noqa: E402
from analytics.consumers import RequestFeedConsumer  # noqa: E402
from proxy.edge import Lifespan, PathDispatcher, ProxyApplication  # noqa: E402

proxy_application = ProxyApplication()
websocket_routes = [path("ws/workspaces/<int:workspace_id>/requests", RequestFeedConsumer.as_asgi())]
application = ProtocolTypeRouter(
    {
        "http": PathDispatcher(proxy=proxy_application, fallback=django_application),
        "websocket": AllowedHostsOriginValidator(
            AuthMiddlewareStack(ClerkWebsocketMiddleware(URLRouter(websocket_routes)))
        ),
        "lifespan": Lifespan(proxy_application),
    }
)
