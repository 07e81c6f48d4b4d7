"""The proxy's HTTP edge: raw ASGI for /v1, /metrics and /readyz, with no Django middleware in the way.

Each /v1 request goes through proxy.request_path (admit → shape → look up → forward → account).
"""

import asyncio
import hmac

import orjson
from django.conf import settings

from optera.health import readiness
from proxy import request_path
from proxy.asgi_io import Responder, header_map
from proxy.db import in_db_thread
from proxy.runtime import ProxyRuntime
from proxy.warm_up import WarmUp, read_active_keys_ahead, read_as_a_request_would

# Worker threads (each with its database connection) opened before the first request.
WARM_DB_THREADS = 4


class PathDispatcher:
    """Send /v1/, /metrics and /readyz to the proxy and everything else to Django."""

    def __init__(self, *, proxy, fallback):
        self.proxy = proxy
        self.fallback = fallback

    async def __call__(self, scope, receive, send):
        if scope["path"].startswith("/v1/"):
            return await self.proxy(scope, receive, send)
        if scope["path"] == "/metrics":
            return await self.proxy.metrics(scope, receive, send)
        if scope["path"] == "/readyz":
            return await self.proxy.readyz(scope, receive, send)
        return await self.fallback(scope, receive, send)


class Lifespan:
    """ASGI lifespan for servers that send it (uvicorn): finish background work and flush logs on shutdown."""

    def __init__(self, proxy):
        self.proxy = proxy

    async def __call__(self, scope, receive, send):
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await self.proxy.shutdown()
                await send({"type": "lifespan.shutdown.complete"})
                return


class ProxyApplication:
    def __init__(self):
        self._runtime = None
        self.warm_up = WarmUp()
        self.warm_up.start()
        self._runtime_warm = False

    async def shutdown(self):
        if self._runtime is not None:
            await self._runtime.close()

    @property
    def built_runtime(self):
        """The runtime if a request has built it already, else None (never builds one)."""
        return self._runtime

    @property
    def runtime(self):
        # Built on first use so the HTTP session and tasks belong to the server's event loop.
        if self._runtime is None:
            self._runtime = ProxyRuntime()
        return self._runtime

    async def __call__(self, scope, receive, send):
        await request_path.serve(self.runtime, scope, receive, send)

    async def metrics(self, scope, receive, send):
        """Serve the Prometheus exposition: only to OPTERA_METRICS_TOKEN's bearer when set; with
        DATABASE_URL set, to nobody until it is."""
        responder = Responder(send)
        expected = settings.OPTERA_METRICS_TOKEN
        if not expected and not settings.EMBEDDED:
            # A deployment (DATABASE_URL set) never serves its figures to anyone who asks.
            message = b"metrics are off until OPTERA_METRICS_TOKEN is set (required with DATABASE_URL)\n"
            await responder.send_bytes(403, message, content_type="text/plain")
            return
        offered = header_map(scope).get("authorization", "").removeprefix("Bearer ").strip()
        if expected and not hmac.compare_digest(offered.encode(), expected.encode()):
            await responder.send_bytes(401, b"metrics need the bearer token\n", content_type="text/plain")
            return
        body, content_type = self.runtime.metrics.render()
        await responder.send_bytes(200, body, content_type=content_type)

    async def _warm_runtime(self):
        """Before the first "ready": the price table, the keys in recent use with their budgets and
        plans, the upstream connection pool, and the worker threads with their database connections,
        so the first request finds them in place."""
        try:
            await self.runtime.prices.all()
            self.runtime.remember_ahead(*await in_db_thread(read_active_keys_ahead))
            await asyncio.gather(*(in_db_thread(read_as_a_request_would) for _ in range(WARM_DB_THREADS)))
        except Exception:  # a database that is away is readiness's to report
            return
        self.runtime.upstream.prepare()
        self._runtime_warm = True

    async def readyz(self, scope, receive, send):
        """Report readiness: "starting" (503) until warmed up, then whether this process can serve."""
        if not self.warm_up.done:
            await Responder(send).json(503, orjson.dumps({"status": "starting", "checks": {"warm_up": "loading"}}))
            return
        if not self._runtime_warm:
            await self._warm_runtime()
        status, body = await readiness(semantic_cache_off_reason=self.runtime.semantic.off_reason)
        await Responder(send).json(status, orjson.dumps(body))
