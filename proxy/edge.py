"""The proxy's HTTP edge: a raw ASGI handler for /v1, with no Django middleware in the way.

It reads and limits the body, parses JSON, authenticates, rate-limits, then hands the request
to the pipeline. A client that hangs up cancels the handler, and with it the upstream call.
"""

import asyncio
import hmac
import logging
import secrets
import time

import orjson
from django.conf import settings

from cachestore import keys
from optera.health import readiness
from proxy.accounting import RequestRecord
from proxy.asgi_io import Responder, header_map, parse_json_object, read_body
from proxy.auth import credentials_from
from proxy.errors import ProxyError
from proxy.pipeline import endpoints
from proxy.pipeline.chat import chat_completions
from proxy.pipeline.context import RequestContext
from proxy.runtime import ProxyRuntime

logger = logging.getLogger(__name__)
LARGE_BODY_BYTES = 256 * 1024

# (method, path) → (endpoint name, handler, reads a JSON body, speaks Anthropic's error shape)
ROUTES = {
    ("POST", "/v1/chat/completions"): ("chat.completions", chat_completions, True, False),
    ("POST", "/v1/embeddings"): ("embeddings", endpoints.embeddings, True, False),
    ("POST", "/v1/messages"): ("messages", endpoints.anthropic_messages, True, True),
    ("GET", "/v1/models"): ("models", None, False, False),
}


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
    """ASGI lifespan for servers that send it (uvicorn): flush logs and close connections on shutdown."""

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

    async def shutdown(self):
        if self._runtime is not None:
            await self._runtime.close()

    @property
    def runtime(self):
        # Built on first use so the HTTP session and tasks belong to the server's event loop.
        if self._runtime is None:
            self._runtime = ProxyRuntime()
        return self._runtime

    async def metrics(self, scope, receive, send):
        """Serve the Prometheus exposition; with OPTERA_METRICS_TOKEN set, only to that bearer token."""
        responder = Responder(send)
        expected = settings.OPTERA_METRICS_TOKEN
        offered = header_map(scope).get("authorization", "").removeprefix("Bearer ").strip()
        if expected and not hmac.compare_digest(offered.encode(), expected.encode()):
            await responder.send_bytes(401, b"metrics need the bearer token\n", content_type="text/plain")
            return
        body, content_type = self.runtime.metrics.render()
        await responder.send_bytes(200, body, content_type=content_type)

    async def readyz(self, scope, receive, send):
        """Report readiness, including whether this process had to switch its semantic cache off."""
        status, body = await readiness(semantic_cache_off_reason=self.runtime.semantic.off_reason)
        await Responder(send).json(status, orjson.dumps(body))

    async def __call__(self, scope, receive, send):
        route = ROUTES.get((scope["method"], scope["path"].rstrip("/")))
        responder = Responder(send)
        record = RequestRecord(
            request_id=f"req_{secrets.token_hex(12)}",
            endpoint=route[0] if route else "unknown",
            started=time.perf_counter(),
            client_ip=(scope.get("client") or (None,))[0],
        )
        anthropic_shape = bool(route and route[3])
        handler = asyncio.ensure_future(self._handle(scope, receive, responder, record, route))
        try:
            await handler
        except asyncio.CancelledError:
            # The client hung up. A stream accounts for itself; anything earlier is logged here as 499.
            if record.workspace_id is not None and not record.logged and not record.stream:
                record.status_code, record.error_type = 499, "client_disconnected"
                record.savings = {}
                self.runtime.logs.add(record)
        except ProxyError as error:
            await self._send_error(responder, record, error, anthropic_shape)
        except Exception:
            logger.exception("unhandled error in %s (request %s)", record.endpoint, record.request_id)
            await self._send_error(
                responder, record, ProxyError(500, "internal error", code="internal_error"), anthropic_shape
            )

    async def _handle(self, scope, receive, responder, record, route):
        headers = header_map(scope)
        if route is None:
            await read_body(receive, declared_length=None, limit=self._body_limit())
            raise ProxyError(404, f"no route for {scope['method']} {scope['path']}", code="unknown_url")
        _, handler, reads_body, anthropic_shape = route
        body, body_size = None, 0
        if reads_body:
            raw = await read_body(receive, declared_length=headers.get("content-length"), limit=self._body_limit())
            body, body_size = parse_json_object(raw), len(raw)
        # Only now, with the body read, may anything else call receive(): it waits for a hang-up.
        watcher = asyncio.ensure_future(_wait_for_disconnect(receive, asyncio.current_task()))
        try:
            return await self._serve(headers, body, body_size, responder, record, handler, anthropic_shape)
        finally:
            watcher.cancel()

    async def _serve(self, headers, body, body_size, responder, record, handler, anthropic_shape):
        credentials = credentials_from(headers, native_anthropic=anthropic_shape)
        runtime = self.runtime
        key_record = await runtime.keys.authenticate(credentials.optera_key)
        record.workspace_id = key_record.workspace_id
        record.api_key_id = key_record.api_key_id
        ctx = RequestContext(
            runtime=runtime,
            record=record,
            responder=responder,
            headers=headers,
            credentials=credentials,
            key_record=key_record,
        )
        await runtime.rate_limiter.check(
            api_key_id=key_record.api_key_id, limit=key_record.settings.rate_limit_per_minute
        )
        runtime.note_key_used(key_record.api_key_id)
        if body is not None:
            record.prompt_hash = await _prompt_hash(key_record.cache_secret, body, body_size)
        if handler is None:
            prices = await runtime.prices.all()
            return await endpoints.models(ctx, prices)
        return await handler(ctx, body)

    def _body_limit(self):
        return settings.OPTERA_MAX_BODY_BYTES

    async def _send_error(self, responder, record, error, anthropic_shape):
        record.status_code = error.status
        record.error_type = error.code or error.error_type
        record.savings = {}
        if responder.started:
            return
        body = getattr(error, "raw_body", None) or (error.anthropic_body() if anthropic_shape else error.openai_body())
        headers = [("x-optera-request-id", record.request_id)] + list(error.headers)
        if record.model_used:
            headers += [("x-optera-model", record.model_used), ("x-optera-provider", record.provider)]
        await responder.json(error.status, body, headers)
        if record.workspace_id is not None:
            self.runtime.logs.add(record)


async def _prompt_hash(secret, body, body_size):
    """Key the request's messages for the log, so equal prompts can be grouped and never read back."""
    if body_size < LARGE_BODY_BYTES:
        return keys.prompt_hash(secret=secret, body=body)
    # Canonicalising a large body takes milliseconds: not on the event loop.
    return await asyncio.get_running_loop().run_in_executor(None, lambda: keys.prompt_hash(secret=secret, body=body))


async def _wait_for_disconnect(receive, handler):
    """Cancel the handler when the client disconnects (after the body has been read)."""
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            handler.cancel()
            return
