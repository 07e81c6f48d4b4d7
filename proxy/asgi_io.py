"""Reading requests and writing responses on raw ASGI, with no framework in between."""

import asyncio
import contextlib

import orjson
from django.conf import settings

from proxy.errors import ProxyError

JSON_HEADERS = [(b"content-type", b"application/json")]
SSE_HEADERS = [
    (b"content-type", b"text/event-stream; charset=utf-8"),
    (b"cache-control", b"no-cache"),
    (b"x-accel-buffering", b"no"),
]


def header_map(scope):
    """Return the request headers as {lower-case name: value} (str), last value winning."""
    return {name.decode("latin-1"): value.decode("latin-1") for name, value in scope["headers"]}


async def read_body(receive, *, declared_length, limit):
    """Read the whole body, refusing with 413 as soon as it is known to pass `limit` bytes."""
    too_large = ProxyError(413, f"request body exceeds {limit} bytes", code="request_too_large")
    if declared_length is not None:
        try:
            if int(declared_length) > limit:
                raise too_large
        except ValueError:
            raise ProxyError(400, "invalid Content-Length header") from None
    chunks = []
    received = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise asyncio.CancelledError("client disconnected while sending the body")
        chunk = message.get("body", b"")
        received += len(chunk)
        # A missing or lying Content-Length must not let a client make us buffer more than the limit.
        if received > limit:
            raise too_large
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


def encode_headers(pairs):
    # A value that latin-1 cannot carry is replaced, never allowed to fail the response.
    return [(name.encode("latin-1"), str(value).encode("latin-1", "replace")) for name, value in pairs]


class Responder:
    """Writes one response; remembers whether headers went out so errors can be sent in-band."""

    def __init__(self, send):
        self._send = send
        self.started = False
        self.finished = False
        self.status = None

    async def json(self, status, body, headers=()):
        await self.start(
            status, JSON_HEADERS + encode_headers(headers) + [(b"content-length", str(len(body)).encode())]
        )
        await self._send({"type": "http.response.body", "body": body})
        self.finished = True

    async def send_bytes(self, status, body, *, content_type):
        """Send a whole non-JSON body (the metrics exposition, a plain-text refusal)."""
        await self.start(
            status, [(b"content-type", content_type.encode()), (b"content-length", str(len(body)).encode())]
        )
        await self._send({"type": "http.response.body", "body": body})
        self.finished = True

    async def start(self, status, raw_headers):
        self.started = True
        self.status = status
        await self._send({"type": "http.response.start", "status": status, "headers": raw_headers})

    async def start_stream(self, status, headers=()):
        await self.start(status, SSE_HEADERS + encode_headers(headers))

    async def chunk(self, data):
        await self._send({"type": "http.response.body", "body": data, "more_body": True})

    async def finish(self):
        await self._send({"type": "http.response.body", "body": b""})
        self.finished = True


@contextlib.asynccontextmanager
async def cancel_on_disconnect(receive):
    """Cancel the current task if the client disconnects inside this block (call after the body is read)."""
    watcher = asyncio.ensure_future(_wait_for_disconnect(receive, asyncio.current_task()))
    try:
        yield
    finally:
        watcher.cancel()


async def _wait_for_disconnect(receive, task):
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            task.cancel()
            return


def parse_json_object(body):
    """Return the body as a dict, or raise a 400 naming what is wrong.

    Refused here, before anything is recorded: nesting deeper than OPTERA_MAX_JSON_DEPTH (hashing
    and translation walk the body recursively), a NUL character anywhere (PostgreSQL's text and
    jsonb cannot hold one, so the request's log row would be lost), and control characters in `model`.
    """
    if not body:
        raise ProxyError(400, "request body is empty; expected a JSON object", code="invalid_json")
    try:
        parsed = orjson.loads(body)
    except orjson.JSONDecodeError as error:
        if "depth" in str(error):
            raise _too_deep() from None
        raise ProxyError(400, f"request body is not valid JSON: {error}", code="invalid_json") from None
    if not isinstance(parsed, dict):
        raise ProxyError(400, "request body must be a JSON object", code="invalid_json")
    limit = settings.OPTERA_MAX_JSON_DEPTH
    # Counting brackets is a memchr-speed scan; only a body with more of them than the limit can be too deep.
    if body.count(b"[") + body.count(b"{") > limit and _depth_exceeds(parsed, limit):
        raise _too_deep()
    # A NUL can only arrive escaped (raw control characters are invalid JSON); the walk confirms it.
    if b"\\u0000" in body and _holds_nul(parsed):
        raise ProxyError(400, "request body contains a NUL character (\\u0000), which cannot be processed")
    model = parsed.get("model")
    if isinstance(model, str) and not model.isprintable():
        raise ProxyError(400, "'model' contains control characters", param="model")
    return parsed


def _too_deep():
    limit = settings.OPTERA_MAX_JSON_DEPTH
    return ProxyError(400, f"request body is nested more than {limit} levels deep", code="invalid_json")


def _depth_exceeds(value, limit):
    """Return whether arrays and objects nest deeper than `limit`, walking without recursion."""
    pending = [(value, 1)]
    while pending:
        node, depth = pending.pop()
        if depth > limit:
            return True
        if isinstance(node, dict):
            pending.extend((child, depth + 1) for child in node.values() if isinstance(child, (dict, list)))
        elif isinstance(node, list):
            pending.extend((child, depth + 1) for child in node if isinstance(child, (dict, list)))
    return False


def _holds_nul(value):
    pending = [value]
    while pending:
        node = pending.pop()
        if isinstance(node, str):
            if "\x00" in node:
                return True
        elif isinstance(node, dict):
            pending.extend(node.keys())
            pending.extend(node.values())
        elif isinstance(node, list):
            pending.extend(node)
    return False
