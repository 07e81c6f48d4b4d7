"""The same bare pass-through written three ways, to choose the `/v1` handler by measurement.

Each application forwards a POSTed chat completion to the fake provider with one shared aiohttp
session and returns the upstream bytes: no auth, no cache, no accounting, so the figures isolate
what the handler style costs. Served by uvicorn from `bench/handler_choice.py`:

- `raw_application`: a plain ASGI callable (what `proxy.edge` is built on);
- `consumer_application`: a Channels `AsyncHttpConsumer`;
- `django_application`: an async Django view behind Django's ASGI handler and the project's
  middleware stack;
- `django_bare_application`: the same view with no middleware at all.
"""

import os

import aiohttp

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "optera.settings")

import django  # noqa: E402

django.setup()

from channels.generic.http import AsyncHttpConsumer  # noqa: E402
from django.conf import settings  # noqa: E402
from django.core.asgi import get_asgi_application  # noqa: E402
from django.core.handlers.asgi import ASGIHandler  # noqa: E402
from django.http import HttpResponse  # noqa: E402
from django.urls import path  # noqa: E402
from django.views.decorators.csrf import csrf_exempt  # noqa: E402


class Upstream:
    """One pooled aiohttp session per process, opened inside the server's event loop."""

    def __init__(self):
        self._session = None

    async def forward(self, body: bytes) -> tuple[int, bytes]:
        if self._session is None:
            self._session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0))
        async with self._session.post(
            f"{settings.OPENAI_BASE_URL}/chat/completions",
            data=body,
            headers={"Authorization": "Bearer sk-bench", "Content-Type": "application/json"},
        ) as response:
            return response.status, await response.read()


class RawPassThrough:
    def __init__(self):
        self.upstream = Upstream()

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        status, content = await self.upstream.forward(body)
        await send(
            {"type": "http.response.start", "status": status, "headers": [(b"content-type", b"application/json")]}
        )
        await send({"type": "http.response.body", "body": content})


class ConsumerPassThrough(AsyncHttpConsumer):
    upstream = Upstream()

    async def handle(self, body):
        status, content = await self.upstream.forward(body)
        await self.send_response(status, content, headers=[(b"content-type", b"application/json")])


def django_view(upstream):
    @csrf_exempt
    async def pass_through(request):
        status, content = await upstream.forward(request.body)
        return HttpResponse(content, status=status, content_type="application/json")

    return pass_through


urlpatterns = [path("v1/chat/completions", django_view(Upstream()))]
# This module is the URLconf of the Django variant only.
settings.ROOT_URLCONF = __name__


def asgi_handler_without_middleware():
    """Return Django's ASGI handler built with an empty middleware list (it reads the list once)."""
    configured = settings.MIDDLEWARE
    settings.MIDDLEWARE = []
    try:
        return ASGIHandler()
    finally:
        settings.MIDDLEWARE = configured


raw_application = RawPassThrough()
consumer_application = ConsumerPassThrough.as_asgi()
django_application = get_asgi_application()
django_bare_application = asgi_handler_without_middleware()
