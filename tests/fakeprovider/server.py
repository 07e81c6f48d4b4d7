"""A real local HTTP server that plays OpenAI and Anthropic, for the proxy's tests and benchmarks."""

from __future__ import annotations

import asyncio
import dataclasses
import signal
import socket
import threading
import time
from typing import Mapping

import orjson
from aiohttp import web

from . import anthropic_api, openai_api, responses_api
from .delivery import (
    EXCHANGE_KEY,
    Exchange,
    error_response,
    provider_for_path,
    sleep_unless_disconnected,
    wait_until_released,
)
from .records import DisconnectRecord, Fault, Price, RequestRecord, UsageRecord, UsageTotals
from .state import ProviderSettings, ProviderState
from .strictness import refusal

STATE_KEY = web.AppKey("fake_provider_state", ProviderState)
# Paths under this prefix script the fake itself (for a benchmark running it in another process);
# they are never recorded and never draw faults.
CONTROL_PREFIX = "/_fake/"
MAX_REQUEST_BYTES = 64 * 1024 * 1024
# How long stop() lets in-flight answers finish before cancelling them; tests stop mid-stream.
SHUTDOWN_GRACE_SECONDS = 0.25
LISTEN_BACKLOG = 2048


@web.middleware
async def exchange_middleware(request: web.Request, handler) -> web.StreamResponse:
    """Parse and record the request, then apply any queued fault before the real handler runs."""
    if request.path.startswith(CONTROL_PREFIX):
        return await handler(request)
    state = request.app[STATE_KEY]
    received_at = time.monotonic()
    provider = provider_for_path(request.path)
    body = await request.read()
    malformed = False
    payload = None
    if body:
        try:
            payload = orjson.loads(body)
        except orjson.JSONDecodeError:
            malformed = True
    if state.settings.record_requests:
        state.record_request(
            RequestRecord(
                method=request.method,
                path=request.path,
                query=dict(request.query),
                headers={name.lower(): value for name, value in request.headers.items()},
                json=payload,
                received_at=received_at,
            )
        )
    if malformed:
        return error_response(
            provider=provider, status=400, message="We could not parse the JSON body of your request."
        )

    refused = refusal(provider, request.path, _offered_key(request, provider), payload)
    if refused is not None:
        status, message = refused
        return error_response(provider=provider, status=status, message=message)

    service_tier = payload.get("service_tier") if isinstance(payload, dict) else None
    fault = state.take_fault(request.path, service_tier)
    exchange = Exchange(
        request=request, state=state, provider=provider, payload=payload, fault=fault, received_at=received_at
    )
    request[EXCHANGE_KEY] = exchange
    if fault is not None:
        if fault.close_connection:
            if request.transport is not None:
                request.transport.close()
            return web.Response()  # aiohttp drops it: the connection is already closing.
        if fault.hold and not await wait_until_released(request, state.held_gate()):
            exchange.note_disconnect(stage="before_headers", chunks_sent=0)
            return web.Response()
        if fault.delay_before_headers > 0:
            if not await sleep_unless_disconnected(request, fault.delay_before_headers):
                exchange.note_disconnect(stage="before_headers", chunks_sent=0)
                return web.Response()
        if fault.status is not None:
            return error_response(
                provider=provider,
                status=fault.status,
                message=fault.error_message,
                error_type=fault.error_type,
                error_code=fault.error_code,
                headers=exchange.extra_headers,
            )
    try:
        return await handler(request)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        # Unknown paths and methods get the provider's JSON error, as an SDK expects.
        message = f"Invalid URL ({request.method} {request.path})"
        return error_response(provider=provider, status=exc.status, message=message)
    except (TypeError, ValueError, KeyError, AttributeError) as exc:
        # The real APIs check every parameter's type and answer 400; the fake reads parameters as it
        # needs them, so a wrong type (`"n": [null]`, `"stream": {}`) surfaces here instead.
        message = f"Invalid type for a request parameter ({type(exc).__name__})"
        return error_response(provider=provider, status=400, message=message)


def _offered_key(request: web.Request, provider: str) -> str:
    if provider == "anthropic":
        return anthropic_api.request_api_key(request)
    return openai_api.bearer_api_key(request)


async def control_usage(request: web.Request) -> web.Response:
    """Return the token totals per model."""
    totals = request.app[STATE_KEY].usage_totals()
    body = {model: dataclasses.asdict(model_totals) for model, model_totals in totals.items()}
    return web.Response(body=orjson.dumps(body), content_type="application/json")


async def control_reset(request: web.Request) -> web.Response:
    """Forget everything, as FakeProvider.reset() does."""
    request.app[STATE_KEY].reset()
    return web.Response(body=b"{}", content_type="application/json")


async def control_advance(request: web.Request) -> web.Response:
    """Move the prompt caches' clock forward by {"seconds": N}, as if that much time had passed."""
    data = orjson.loads(await request.read() or b"{}")
    seconds = data.get("seconds") if isinstance(data, dict) else None
    if isinstance(seconds, bool) or not isinstance(seconds, (int, float)) or seconds < 0:
        return web.Response(
            status=400, body=orjson.dumps({"error": "seconds must be a number >= 0"}), content_type="application/json"
        )
    request.app[STATE_KEY].clock.advance(seconds)
    return web.Response(body=orjson.dumps({"advanced": seconds}), content_type="application/json")


async def control_faults(request: web.Request) -> web.Response:
    """Queue the faults given as a JSON object or a list of them."""
    data = orjson.loads(await request.read())
    try:
        faults = tuple(Fault.from_json(item) for item in (data if isinstance(data, list) else [data]))
    except (TypeError, ValueError) as exc:
        return web.Response(status=400, body=orjson.dumps({"error": str(exc)}), content_type="application/json")
    request.app[STATE_KEY].enqueue(faults)
    return web.Response(body=orjson.dumps({"queued": len(faults)}), content_type="application/json")


async def control_answers(request: web.Request) -> web.Response:
    """Add {prompt text: answer text} to the answer table."""
    data = orjson.loads(await request.read())
    if not isinstance(data, dict) or not all(isinstance(answer, str) for answer in data.values()):
        refusal_body = orjson.dumps({"error": "expected an object of prompt text to answer text"})
        return web.Response(status=400, body=refusal_body, content_type="application/json")
    request.app[STATE_KEY].add_answers(data)
    return web.Response(body=orjson.dumps({"answers": len(data)}), content_type="application/json")


def build_app(state: ProviderState) -> web.Application:
    """Return the aiohttp application serving both providers' endpoints."""
    app = web.Application(middlewares=[exchange_middleware], client_max_size=MAX_REQUEST_BYTES)
    app[STATE_KEY] = state
    app.router.add_post("/v1/chat/completions", openai_api.chat_completions)
    app.router.add_post("/v1/embeddings", openai_api.embeddings)
    app.router.add_post("/v1/responses", responses_api.responses)
    app.router.add_get("/v1/models", openai_api.models)
    app.router.add_post("/v1/messages", anthropic_api.messages)
    app.router.add_post("/v1/messages/count_tokens", anthropic_api.count_tokens)
    app.router.add_get(CONTROL_PREFIX + "usage", control_usage)
    app.router.add_post(CONTROL_PREFIX + "reset", control_reset)
    app.router.add_post(CONTROL_PREFIX + "faults", control_faults)
    app.router.add_post(CONTROL_PREFIX + "answers", control_answers)
    app.router.add_post(CONTROL_PREFIX + "advance", control_advance)
    return app


class FakeProvider:
    """A local OpenAI + Anthropic server on 127.0.0.1, run in a background thread or standalone."""

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        anthropic_cache_min_tokens: int = 1024,
        openai_cache_min_tokens: int = 1024,
        chunk_delay: float = 0.0,
        filler_words: int = 0,
        record_requests: bool = True,
    ) -> None:
        self.host = host
        self._requested_port = port
        self._port: int | None = None
        self._state = ProviderState(
            ProviderSettings(
                anthropic_cache_min_tokens=anthropic_cache_min_tokens,
                openai_cache_min_tokens=openai_cache_min_tokens,
                default_chunk_delay=chunk_delay,
                filler_words=filler_words,
                record_requests=record_requests,
            )
        )
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._startup_error: BaseException | None = None

    # Lifecycle

    def start(self) -> FakeProvider:
        """Serve in a background thread with its own event loop; return once it accepts connections."""
        if self._thread is not None:
            raise RuntimeError("FakeProvider is already running")
        ready = threading.Event()
        self._startup_error = None
        self._thread = threading.Thread(target=self._serve_in_thread, args=(ready,), name="fake-provider", daemon=True)
        self._thread.start()
        if not ready.wait(timeout=10):
            raise RuntimeError("FakeProvider did not start within 10 s")
        if self._startup_error is not None:
            self._thread.join()
            self._thread = None
            raise RuntimeError("FakeProvider failed to start") from self._startup_error
        return self

    def stop(self) -> None:
        """Stop serving; in-flight answers get a short grace period, then are cancelled."""
        if self._thread is None or self._loop is None:
            return
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)
        self._thread = None
        self._loop = None

    def __enter__(self) -> FakeProvider:
        return self.start()

    def __exit__(self, *exc_info) -> None:
        self.stop()

    def serve_forever(self, *, fast_loop: bool = True) -> None:
        """Serve in the calling thread until interrupted (uvloop when available and `fast_loop`)."""
        loop_factory = None
        if fast_loop:
            try:
                import uvloop

                loop_factory = uvloop.new_event_loop
            except ImportError:
                pass

        async def serve() -> None:
            runner = await self._open()
            stopping = asyncio.Event()
            # SIGTERM too, so a benchmark harness can stop the server cleanly.
            for signal_number in (signal.SIGINT, signal.SIGTERM):
                asyncio.get_running_loop().add_signal_handler(signal_number, stopping.set)
            print(f"fake provider listening on {self.url}", flush=True)
            try:
                await stopping.wait()
            finally:
                await runner.cleanup()

        with asyncio.Runner(loop_factory=loop_factory) as runner:
            try:
                runner.run(serve())
            except KeyboardInterrupt:
                pass

    def _serve_in_thread(self, ready: threading.Event) -> None:
        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        try:
            runner = loop.run_until_complete(self._open())
        except BaseException as exc:  # Reported to start() in the caller's thread.
            self._startup_error = exc
            loop.close()
            ready.set()
            return
        self._loop = loop
        ready.set()
        try:
            loop.run_forever()
        finally:
            loop.run_until_complete(runner.cleanup())
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.close()

    async def _open(self) -> web.AppRunner:
        runner = web.AppRunner(build_app(self._state), access_log=None, shutdown_timeout=SHUTDOWN_GRACE_SECONDS)
        await runner.setup()
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            listener.bind((self.host, self._requested_port))
            await web.SockSite(runner, listener, backlog=LISTEN_BACKLOG).start()
        except BaseException:
            listener.close()
            await runner.cleanup()
            raise
        self._port = listener.getsockname()[1]
        return runner

    # Addresses

    @property
    def port(self) -> int:
        if self._port is None:
            raise RuntimeError("FakeProvider is not started")
        return self._port

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def openai_base_url(self) -> str:
        return self.url + "/v1"

    @property
    def anthropic_base_url(self) -> str:
        # The Anthropic SDK (and the proxy) append /v1/messages themselves.
        return self.url

    # Scripting

    @property
    def chunk_delay(self) -> float:
        """Seconds between stream chunks for every stream without a fault saying otherwise."""
        return self._state.chunk_delay

    @chunk_delay.setter
    def chunk_delay(self, seconds: float) -> None:
        self._state.chunk_delay = seconds

    def enqueue(self, *faults: Fault) -> None:
        """Queue faults for the next matching requests, first in first out."""
        self._state.enqueue(faults)

    @property
    def pending_faults(self) -> list[Fault]:
        return self._state.pending_faults

    def add_answers(self, answers: Mapping[str, str]) -> None:
        """Answer each prompt text (the last user turn) with the given text, until reset(); a fault's text wins."""
        self._state.add_answers(answers)

    def release_held(self) -> None:
        """Let requests held by a `Fault(hold=True)` go on."""
        self._state.release_held()

    def advance(self, seconds: float) -> None:
        """Move the prompt caches' clock forward, so entries expire as if `seconds` had passed."""
        self._state.clock.advance(seconds)

    def reset(self) -> None:
        """Forget records, queued faults and prompt caches; restore the constructor's chunk delay."""
        self._state.reset()

    # Observation

    @property
    def requests(self) -> list[RequestRecord]:
        """Return a snapshot of the requests received so far, oldest first."""
        return self._state.requests

    @property
    def last_request(self) -> RequestRecord:
        records = self._state.requests
        if not records:
            raise LookupError("the fake provider has received no request")
        return records[-1]

    @property
    def disconnects(self) -> list[DisconnectRecord]:
        """Return a snapshot of the client disconnects noticed so far."""
        return self._state.disconnects

    @property
    def usages(self) -> list[UsageRecord]:
        """Return a snapshot of the usage of every answer so far (when recording)."""
        return self._state.usages

    def usage_totals(self, service_tier: str | None = None) -> dict[str, UsageTotals]:
        """Return token totals per model (kept even when not recording), of one OpenAI service tier if given."""
        return self._state.usage_totals(service_tier)

    def bill_usd(self, prices: Mapping[str, Price]) -> float:
        """Return what every answer so far costs (flex ones at flex prices); `prices` maps model (or "*") to a Price."""
        return self._state.bill_usd(prices)

    def wait_for_disconnect(self, timeout: float = 5.0, *, count: int = 1) -> DisconnectRecord:
        """Block until `count` disconnects were noticed and return the count-th; TimeoutError if not."""
        self._state.wait_until(
            lambda: self._state.disconnect_count() >= count, timeout, f"{count} client disconnect(s)"
        )
        return self._state.disconnects[count - 1]

    def wait_for_requests(self, count: int = 1, timeout: float = 5.0) -> list[RequestRecord]:
        """Block until `count` requests were received and return them all; TimeoutError if not."""
        self._state.wait_until(lambda: self._state.request_count() >= count, timeout, f"{count} request(s)")
        return self._state.requests
