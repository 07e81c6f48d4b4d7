"""Sending answers: JSON and error bodies, and event streams that honour faults and notice disconnects."""

from __future__ import annotations

import asyncio
import time
import uuid
from dataclasses import dataclass
from typing import Any

import orjson
from aiohttp import web

from .records import DisconnectRecord, Fault, UsageRecord
from .state import ProviderState

# How often a waiting or slow-streaming handler looks at its connection; keeps disconnect
# detection well under the 1 s a proxy test allows.
DISCONNECT_POLL_SECONDS = 0.02

OPENAI_ERRORS = {
    400: ("invalid_request_error", None),
    401: ("invalid_request_error", "invalid_api_key"),
    403: ("invalid_request_error", "unsupported_country_region_territory"),
    404: ("invalid_request_error", None),
    429: ("requests", "rate_limit_exceeded"),
    500: ("server_error", None),
    503: ("server_error", "service_unavailable"),
}
ANTHROPIC_ERRORS = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    413: "request_too_large",
    429: "rate_limit_error",
    500: "api_error",
    529: "overloaded_error",
}


def provider_for_path(path: str) -> str:
    """Return which provider's conventions a path follows."""
    return "anthropic" if path.startswith("/v1/messages") else "openai"


def request_id_headers(provider: str) -> dict[str, str]:
    """Return the request-id header the real provider sends."""
    if provider == "anthropic":
        return {"request-id": f"req_{uuid.uuid4().hex[:24]}"}
    return {"x-request-id": f"req_{uuid.uuid4().hex[:24]}"}


def error_body(
    *, provider: str, status: int, message: str, error_type: str | None = None, error_code: str | None = None
) -> dict:
    """Return an error payload in the shape the provider's SDK parses."""
    if provider == "anthropic":
        default_type = ANTHROPIC_ERRORS.get(status, "api_error" if status >= 500 else "invalid_request_error")
        return {"type": "error", "error": {"type": error_type or default_type, "message": message}}
    default_type, default_code = OPENAI_ERRORS.get(
        status, ("server_error" if status >= 500 else "invalid_request_error", None)
    )
    code = error_code or default_code
    return {"error": {"message": message, "type": error_type or default_type, "param": None, "code": code}}


def error_response(
    *,
    provider: str,
    status: int,
    message: str | None = None,
    error_type: str | None = None,
    error_code: str | None = None,
    headers: dict[str, str] | None = None,
) -> web.Response:
    """Return a provider-shaped error response."""
    body = error_body(
        provider=provider,
        status=status,
        message=message or f"Fake provider error {status}",
        error_type=error_type,
        error_code=error_code,
    )
    return web.Response(
        status=status,
        body=orjson.dumps(body),
        content_type="application/json",
        headers={**request_id_headers(provider), **(headers or {})},
    )


def client_gone(request: web.Request) -> bool:
    """Return True once the client's connection is closed or closing."""
    transport = request.transport
    return transport is None or transport.is_closing()


async def wait_until_released(request: web.Request, gate) -> bool:
    """Wait for `gate` (a threading.Event) watching the connection; return False as soon as the client leaves."""
    while not gate.is_set():
        if client_gone(request):
            return False
        await asyncio.sleep(DISCONNECT_POLL_SECONDS)
    return True


async def sleep_unless_disconnected(request: web.Request, seconds: float) -> bool:
    """Sleep for `seconds`, watching the connection; return False as soon as the client leaves."""
    deadline = time.monotonic() + seconds
    while True:
        if client_gone(request):
            return False
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return True
        await asyncio.sleep(min(remaining, DISCONNECT_POLL_SECONDS))


@dataclass
class Exchange:
    """One request in flight: its parsed body, the fault it drew, and where to report."""

    request: web.Request
    state: ProviderState
    provider: str
    payload: Any
    fault: Fault | None
    received_at: float

    @property
    def model(self) -> str | None:
        return self.payload.get("model") if isinstance(self.payload, dict) else None

    @property
    def chunk_delay(self) -> float:
        if self.fault is not None and self.fault.chunk_delay is not None:
            return self.fault.chunk_delay
        return self.state.chunk_delay

    @property
    def filler_words(self) -> int:
        if self.fault is not None and self.fault.filler_words:
            return self.fault.filler_words
        return self.state.settings.filler_words

    @property
    def answer_text(self) -> str | None:
        return self.fault.answer_text if self.fault is not None else None

    def scripted_answer(self, prompt_text: str) -> str | None:
        """Return the fault's answer text, else the answer table's answer to `prompt_text`, else None."""
        if self.answer_text is not None:
            return self.answer_text
        return self.state.answer_from_book(prompt_text)

    @property
    def extra_headers(self) -> dict[str, str]:
        headers = request_id_headers(self.provider)
        if self.fault is not None:
            headers.update(self.fault.headers)
        return headers

    def note_disconnect(self, *, stage: str, chunks_sent: int) -> None:
        """Record that the client left before the answer was complete."""
        self.state.record_disconnect(
            DisconnectRecord(
                path=self.request.path,
                model=self.model,
                received_at=self.received_at,
                noticed_at=time.monotonic(),
                chunks_sent=chunks_sent,
                stage=stage,
            )
        )

    def json_response(self, body: dict, usage: UsageRecord | None = None) -> web.Response:
        """Return a JSON answer, counting its usage as delivered."""
        if usage is not None:
            self.state.record_usage(usage)
        return web.Response(body=orjson.dumps(body), content_type="application/json", headers=self.extra_headers)

    def error(self, status: int, message: str, error_type: str | None = None) -> web.Response:
        """Return a provider-shaped error for a request the fake refuses."""
        return error_response(provider=self.provider, status=status, message=message, error_type=error_type)


EXCHANGE_KEY = web.RequestKey("fake_provider_exchange", Exchange)


@dataclass(frozen=True)
class StreamOutcome:
    """How far a stream got before it ended."""

    chunks_sent: int
    output_tokens: int
    completed: bool


def in_stream_error(provider: str) -> bytes:
    """The error event a provider sends when it fails after the stream began."""
    if provider == "anthropic":
        payload = {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}
        return b"event: error\ndata: " + orjson.dumps(payload) + b"\n\n"
    payload = {"error": {"message": "The server had an error while processing your request.", "type": "server_error"}}
    return b"data: " + orjson.dumps(payload) + b"\n\n"


def _framed(event: bytes, fault: Fault | None) -> bytes:
    if fault is None:
        return event
    if fault.sse_comments:
        event = b": ping\n\n" + event
    if fault.crlf:
        event = event.replace(b"\n", b"\r\n")
    return event


async def send_event_stream(
    exchange: Exchange, chunks: list[tuple[bytes, int]]
) -> tuple[web.StreamResponse, StreamOutcome]:
    """Stream pre-encoded SSE events, each paired with the output tokens it carries.

    Honours the exchange's chunk delay and drop fault, and records a client disconnect
    as soon as a write fails or the transport is seen closing.
    """
    request = exchange.request
    fault = exchange.fault
    drop_after_chunks = fault.drop_after_chunks if fault is not None else None
    chunk_delay = exchange.chunk_delay
    response = web.StreamResponse(
        headers={
            "Content-Type": "text/event-stream; charset=utf-8",
            "Cache-Control": "no-cache",
            **exchange.extra_headers,
        }
    )
    chunks_sent = 0
    output_tokens = 0
    try:
        await response.prepare(request)
        for event_bytes, event_tokens in chunks:
            if fault is not None and fault.error_after_chunks is not None and chunks_sent >= fault.error_after_chunks:
                await response.write(_framed(in_stream_error(exchange.provider), fault))
                break
            if drop_after_chunks is not None and chunks_sent >= drop_after_chunks:
                # close() flushes what was written, so the client gets exactly N chunks, then EOF
                # in the middle of the chunked body.
                if request.transport is not None:
                    request.transport.close()
                return response, StreamOutcome(chunks_sent, output_tokens, completed=False)
            if chunks_sent and chunk_delay > 0:
                if not await sleep_unless_disconnected(request, chunk_delay):
                    raise ConnectionResetError("client disconnected between chunks")
            elif client_gone(request):
                raise ConnectionResetError("client disconnected")
            await response.write(_framed(event_bytes, fault))
            chunks_sent += 1
            output_tokens += event_tokens
        await response.write_eof()
    except (ConnectionError, asyncio.CancelledError) as exc:
        exchange.note_disconnect(stage="streaming", chunks_sent=chunks_sent)
        if isinstance(exc, asyncio.CancelledError):
            raise
        return response, StreamOutcome(chunks_sent, output_tokens, completed=False)
    return response, StreamOutcome(chunks_sent, output_tokens, completed=True)
