"""OpenAI (and OpenAI-compatible providers): the body passes through except what must change."""

import orjson
from django.conf import settings

from proxy.providers.base import StreamOutcome, UpstreamRequest
from proxy.providers.sse import DONE_EVENT, EventSplitter, event_fields, openai_error_event

NAME = "openai"
# OpenAI's flex tier (service_tier "flex"): the models with flex prices in the price table.
FLEX_TIER = True


def _headers(provider_key):
    return {"Authorization": f"Bearer {provider_key}", "Content-Type": "application/json"}


def _request(path, body, *, model, provider_key, **overrides):
    """Build an upstream request: the client's body with the model (and `overrides`) replaced."""
    upstream_body = {**body, "model": model, **overrides}
    return UpstreamRequest(
        provider=NAME,
        model=model,
        url=f"{settings.OPENAI_BASE_URL}{path}",
        headers=_headers(provider_key),
        body=orjson.dumps(upstream_body),
    )


def chat_request(body, *, model, provider_key, stream, cache_hints=None, flex=False):
    """Build the upstream request: only the model, the prompt-cache key, the tier and stream usage change.

    OpenAI caches prompt prefixes of 1024+ tokens on its own; a `prompt_cache_key` steers requests
    that share a prefix to the same cache machine, which raises the hit rate. Messages are never
    reordered, since that could change the answer; OpenAI's format already puts the stable parts
    (tools, then the system message) first.
    """
    overrides = {}
    if cache_hints is not None and not body.get("prompt_cache_key"):
        # Workspace plus system prompt: requests that share a cacheable prefix share a key, while
        # one tenant's traffic never piles onto another tenant's cache machine.
        overrides["prompt_cache_key"] = cache_hints.prefix_key(body)
    if flex:
        overrides["service_tier"] = "flex"
    if stream:
        # Usage arrives only when asked for; the client's own wish decides whether it sees that chunk.
        overrides["stream_options"] = {**(body.get("stream_options") or {}), "include_usage": True}
    return _request("/chat/completions", body, model=model, provider_key=provider_key, **overrides)


def embeddings_request(body, *, model, provider_key):
    return _request("/embeddings", body, model=model, provider_key=provider_key)


def chat_response(raw, *, model):
    """Return (bytes for the client, parsed response, OpenAI usage) of a successful answer."""
    parsed = orjson.loads(raw)
    return raw, parsed, parsed.get("usage")


def error_body(status, raw):
    """Return the provider's error in OpenAI's shape (it already is, unless a proxy mangled it)."""
    try:
        parsed = orjson.loads(raw)
        if isinstance(parsed, dict) and isinstance(parsed.get("error"), dict):
            return raw
    except orjson.JSONDecodeError:
        pass
    return orjson.dumps(
        {"error": {"message": f"upstream answered {status}", "type": "upstream_error", "param": None, "code": None}}
    )


class StreamRelay:
    """Passes OpenAI's SSE through, parsing each event to learn usage and assemble the answer."""

    def __init__(self, *, model, include_usage):
        self.include_usage = include_usage
        self.outcome = StreamOutcome()
        self._splitter = EventSplitter()

    def feed(self, data):
        """Return the bytes to forward for this piece of the upstream stream."""
        forwarded = []
        for event in self._splitter.feed(data):
            _, payload = event_fields(event)
            if payload == b"[DONE]":
                self.outcome.finished = self.outcome.finish_reason is not None
                forwarded.append(DONE_EVENT)
                continue
            try:
                chunk = orjson.loads(payload)
            except orjson.JSONDecodeError:
                forwarded.append(event + b"\n\n")
                continue
            if isinstance(chunk, dict) and chunk.get("usage"):
                self.outcome.usage = chunk["usage"]
                if not chunk.get("choices") and not self.include_usage:
                    continue
            for choice in chunk.get("choices") or () if isinstance(chunk, dict) else ():
                if choice.get("index", 0) == 0:
                    self.outcome.add_delta(choice.get("delta") or {})
                    if choice.get("finish_reason"):
                        self.outcome.finish_reason = choice["finish_reason"]
            forwarded.append(event + b"\n\n")
        return b"".join(forwarded)

    error_event = staticmethod(openai_error_event)
