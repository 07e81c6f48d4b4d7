"""OpenAI's Responses API (POST /v1/responses): the request passes through; usage and the final response
are read from the answer, whole or streamed as typed events."""

import orjson
from django.conf import settings

from proxy.providers.base import StreamOutcome, UpstreamRequest
from proxy.providers.sse import EventSplitter, event_fields, openai_error_event

# The events that end a stream; each carries the whole response, usage included.
FINAL_EVENTS = frozenset({"response.completed", "response.incomplete", "response.failed"})


def responses_request(body, *, model, provider_key):
    return UpstreamRequest(
        provider="openai",
        model=model,
        url=f"{settings.OPENAI_BASE_URL}/responses",
        headers={"Authorization": f"Bearer {provider_key}", "Content-Type": "application/json"},
        body=orjson.dumps({**body, "model": model}),
    )


def usage_in_chat_terms(usage):
    """Return a Responses usage object as Chat Completions names it, which the ledger reads."""
    if not isinstance(usage, dict):
        return None
    return {
        "prompt_tokens": usage.get("input_tokens") or 0,
        "completion_tokens": usage.get("output_tokens") or 0,
        "prompt_tokens_details": {"cached_tokens": (usage.get("input_tokens_details") or {}).get("cached_tokens") or 0},
    }


def response_parts(raw):
    """Return (bytes for the client, parsed response, usage in chat terms) of a whole answer."""
    parsed = orjson.loads(raw)
    if parsed.get("object") != "response":
        raise ValueError("not a response object")
    return raw, parsed, usage_in_chat_terms(parsed.get("usage"))


class StreamRelay:
    """Passes the typed events through untouched; keeps the final response and its usage."""

    error_event = staticmethod(openai_error_event)

    def __init__(self):
        self.outcome = StreamOutcome()
        self.final_response = None
        self._splitter = EventSplitter()

    def feed(self, data):
        for event in self._splitter.feed(data):
            name, payload = event_fields(event)
            if name == "response.output_text.delta" or name in FINAL_EVENTS:
                try:
                    parsed = orjson.loads(payload)
                except orjson.JSONDecodeError:
                    continue
                if name == "response.output_text.delta":
                    self.outcome.add_delta({"content": parsed.get("delta") or ""})
                else:
                    self.final_response = parsed.get("response")
                    usage = usage_in_chat_terms((self.final_response or {}).get("usage"))
                    self.outcome.usage = usage
                    self.outcome.finished = name != "response.failed"
                    self.outcome.finish_reason = (self.final_response or {}).get("status")
        return data
