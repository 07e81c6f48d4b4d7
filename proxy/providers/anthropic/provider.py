"""Anthropic: OpenAI-format requests translated to the Messages API and back; native passthrough."""

import time

import orjson
from django.conf import settings

from analytics.pricing import Usage
from proxy import tokens
from proxy.errors import ProxyError
from proxy.lookup.native_messages import MessageAssembler
from proxy.providers.anthropic.cache_hints import add_anthropic_breakpoints, has_client_cache_control
from proxy.providers.anthropic.cache_ttl import FIVE_MINUTES, NO_MARKERS
from proxy.providers.anthropic.errors import TranslationError
from proxy.providers.anthropic.request import chat_request_to_anthropic
from proxy.providers.anthropic.response import anthropic_response_to_chat, normalise_anthropic_usage
from proxy.providers.anthropic.stream import AnthropicStreamTranslator
from proxy.providers.base import StreamOutcome, UpstreamRequest
from proxy.providers.sse import (
    DONE_EVENT,
    EventSplitter,
    anthropic_error_event,
    data_event,
    event_fields,
    openai_error_event,
)

NAME = "anthropic"
# The native stream's events that carry the answer and its usage (pings and errors carry neither).
ASSEMBLED_EVENTS = frozenset(
    {
        "message_start",
        "content_block_start",
        "content_block_delta",
        "content_block_stop",
        "message_delta",
        "message_stop",
    }
)
# Anthropic's half-price tier is the asynchronous Message Batches API: nothing a synchronous request can use.
FLEX_TIER = False
API_VERSION = "2023-06-01"
DEFAULT_MAX_TOKENS = 4096
# Request headers a native client may send that Anthropic must see.
FORWARDED_NATIVE_HEADERS = ("anthropic-version", "anthropic-beta")


def _headers(provider_key, extra=None):
    headers = {"x-api-key": provider_key, "anthropic-version": API_VERSION, "content-type": "application/json"}
    headers.update(extra or {})
    return headers


def messages_url():
    return f"{settings.ANTHROPIC_BASE_URL}/v1/messages"


def count_tokens_request(body, *, model, provider_key, client_headers):
    """Pass a token-counting request through (free at Anthropic: nothing to price or cache)."""
    extra = {name: client_headers[name] for name in FORWARDED_NATIVE_HEADERS if client_headers.get(name)}
    return UpstreamRequest(
        provider=NAME,
        model=model,
        url=f"{settings.ANTHROPIC_BASE_URL}/v1/messages/count_tokens",
        headers=_headers(provider_key, extra),
        body=orjson.dumps({**body, "model": model}),
    )


def count_tokens_response(raw):
    """Return (bytes for the client, parsed answer, no usage) of a token count: counting bills nothing."""
    parsed = orjson.loads(raw)
    if not isinstance(parsed.get("input_tokens"), int):
        raise ValueError("no input_tokens in the answer")
    return raw, parsed, {}


def with_prompt_cache(upstream_body, *, model, ttl=FIVE_MINUTES):
    """Return (the body with cache_control breakpoints where the client placed none, their TTL or None).

    The TTL is None when Optera placed no marker: the client chose its own caching, or no prefix
    reaches the model's cacheable minimum.
    """
    if has_client_cache_control(upstream_body):
        return upstream_body, None
    if ttl == NO_MARKERS:  # the conversation's turns are further apart than any cache lives
        return upstream_body, NO_MARKERS
    marked = add_anthropic_breakpoints(upstream_body, model=model, estimate_tokens=tokens.rough_count, ttl=ttl)
    return marked, (ttl if has_client_cache_control(marked) else None)


def chat_request(body, *, model, provider_key, stream, cache_hints=None, flex=False):
    """Translate an OpenAI chat request; untranslatable input is the client's 400.

    With `cache_hints` (provider prompt caching on), cache_control breakpoints with the hints' TTL
    go on long stable prefixes. `flex` is never asked for (FLEX_TIER is False): a Claude request goes standard.
    """
    try:
        upstream_body = chat_request_to_anthropic(body, model=model, default_max_tokens=DEFAULT_MAX_TOKENS)
    except TranslationError as error:
        raise ProxyError(400, error.message, param=error.param) from None
    upstream_body["stream"] = stream
    cache_ttl = None
    if cache_hints is not None:
        upstream_body, cache_ttl = with_prompt_cache(upstream_body, model=model, ttl=cache_hints.anthropic_ttl)
    return UpstreamRequest(
        provider=NAME,
        model=model,
        url=messages_url(),
        headers=_headers(provider_key),
        body=orjson.dumps(upstream_body),
        prompt_cache_ttl=cache_ttl,
    )


def native_request(body, *, model, provider_key, client_headers, prompt_cache=False, cache_ttl=FIVE_MINUTES):
    """Pass an Anthropic-native request through, with the client's version and beta headers.

    With `prompt_cache`, breakpoints with `cache_ttl` go where the client placed none.
    """
    upstream_body = dict(body)
    upstream_body["model"] = model
    placed_ttl = None
    if prompt_cache:
        upstream_body, placed_ttl = with_prompt_cache(upstream_body, model=model, ttl=cache_ttl)
    extra = {name: client_headers[name] for name in FORWARDED_NATIVE_HEADERS if client_headers.get(name)}
    return UpstreamRequest(
        provider=NAME,
        model=model,
        url=messages_url(),
        headers=_headers(provider_key, extra),
        body=orjson.dumps(upstream_body),
        prompt_cache_ttl=placed_ttl,
    )


def chat_response(raw, *, model):
    """Return (bytes for the client, OpenAI chat.completion, OpenAI usage) of a Messages answer."""
    message = orjson.loads(raw)
    completion = anthropic_response_to_chat(message, model=model, created=int(time.time()))
    return orjson.dumps(completion), completion, completion.get("usage")


def native_response(raw):
    """Return (bytes for the client, parsed Messages answer, its usage in OpenAI's terms) of a native answer."""
    parsed = orjson.loads(raw)
    usage = Usage.from_anthropic(parsed.get("usage"))
    openai_usage = {
        "prompt_tokens": usage.prompt_tokens,
        "completion_tokens": usage.completion_tokens,
        "prompt_tokens_details": {"cached_tokens": usage.cached_tokens},
        "cache_creation_input_tokens": usage.cache_write_tokens,
        "cache_creation_1h_input_tokens": usage.cache_write_1h_tokens,
    }
    return raw, parsed, openai_usage


def error_body(status, raw):
    """Turn Anthropic's error into OpenAI's shape, keeping its message."""
    message = f"upstream answered {status}"
    error_type = "upstream_error"
    try:
        parsed = orjson.loads(raw)
        error = parsed.get("error") if isinstance(parsed, dict) else None
        if isinstance(error, dict):
            message = str(error.get("message") or message)
            error_type = str(error.get("type") or error_type)
    except orjson.JSONDecodeError:
        pass
    return orjson.dumps({"error": {"message": message, "type": error_type, "param": None, "code": None}})


class StreamRelay:
    """Translates Anthropic's stream into OpenAI chunks as the events arrive."""

    error_event = staticmethod(openai_error_event)

    def __init__(self, *, model, include_usage):
        self._translator = AnthropicStreamTranslator(
            model=model, created=int(time.time()), include_usage=include_usage, chunk_id=f"chatcmpl-{time.time_ns():x}"
        )
        self._splitter = EventSplitter()
        self.outcome = StreamOutcome()

    def feed(self, data):
        forwarded = []
        for event in self._splitter.feed(data):
            name, payload = event_fields(event)
            try:
                parsed = orjson.loads(payload)
            except orjson.JSONDecodeError:
                continue
            event_type = name or parsed.get("type", "")
            for chunk in self._translator.feed(event_type, parsed):
                for choice in chunk.get("choices") or ():
                    self.outcome.add_delta(choice.get("delta") or {})
                forwarded.append(data_event(orjson.dumps(chunk)))
        self.outcome.usage = self._translator.usage
        self.outcome.finished = self._translator.finished
        self.outcome.finish_reason = self._translator.finish_reason
        if self._translator.finished:
            forwarded.append(DONE_EVENT)
        return b"".join(forwarded)


class NativeStreamRelay:
    """Passes an Anthropic-native stream through untouched, reading usage from its events."""

    error_event = staticmethod(anthropic_error_event)

    def __init__(self):
        self.outcome = StreamOutcome()
        self.assembler = MessageAssembler()
        self._splitter = EventSplitter()
        self._usage = {}

    def feed(self, data):
        for event in self._splitter.feed(data):
            name, payload = event_fields(event)
            if name not in ASSEMBLED_EVENTS:
                continue
            try:
                parsed = orjson.loads(payload)
            except orjson.JSONDecodeError:
                continue
            self.assembler.take(name, parsed)
            if name == "message_start":
                self._usage.update((parsed.get("message") or {}).get("usage") or {})
            elif name == "message_delta":
                self._usage.update(
                    {key: value for key, value in (parsed.get("usage") or {}).items() if value is not None}
                )
                self.outcome.finish_reason = (parsed.get("delta") or {}).get("stop_reason")
            elif name == "message_stop":
                self.outcome.finished = True
            elif name == "content_block_delta":
                delta = parsed.get("delta") or {}
                self.outcome.add_delta({"content": delta.get("text") or delta.get("partial_json") or ""})
        self.outcome.usage = normalise_anthropic_usage(self._usage) if self._usage else None
        return data
