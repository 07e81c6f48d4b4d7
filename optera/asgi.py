"""ASGI entry point: a Channels ProtocolTypeRouter.

HTTP under /v1/ goes to the proxy's own ASGI handler (no Django middleware on the hot path);
everything else goes to Django.
"""

import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "optera.settings")

from channels.routing import ProtocolTypeRouter  # noqa: E402
from django.core.asgi import get_asgi_application  # noqa: E402

django_application = get_asgi_application()

from proxy.edge import Lifespan, PathDispatcher, ProxyApplication  # noqa: E402

proxy_application = ProxyApplication()
application = ProtocolTypeRouter(
    {
        "http": PathDispatcher(proxy=proxy_application, fallback=django_application),
        "lifespan": Lifespan(proxy_application),
    }
)
