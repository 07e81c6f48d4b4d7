"""What every provider module offers the request path, and what it is given.

A provider is a module in proxy/providers/ (registered in proxy/providers/__init__.py) with:

- `NAME`: its name in model prefixes and in the request log ("openai", "anthropic");
- `FLEX_TIER`: whether it has a synchronous flex tier (cheaper, slower, sometimes refused); which
  of its models offer it, and at what price, the price table says;
- `chat_request(body, *, model, provider_key, stream, cache_hints, flex)`: an UpstreamRequest for
  an OpenAI-format chat body; `cache_hints` (PromptCacheHints, or None when the workspace turned
  provider prompt caching off) lets it help its own prompt cache; `flex` sends it on the flex tier;
- `chat_response(raw, *, model)`: (bytes for the client, OpenAI chat.completion, OpenAI usage);
- `StreamRelay(model=, include_usage=)`: turns its stream into OpenAI chunks as they arrive,
  filling a StreamOutcome, with an `error_event(type, message)` for a stream that breaks off;
- `error_body(status, raw)`: its error answer in OpenAI's error shape.
"""

from dataclasses import dataclass, field

from cachestore import keys


@dataclass(frozen=True)
class UpstreamRequest:
    provider: str
    model: str
    url: str
    headers: dict
    body: bytes
    # The TTL ("5m" or "1h") of the prompt-cache markers Optera placed; None when it placed none.
    prompt_cache_ttl: str | None = None


@dataclass(frozen=True)
class PromptCacheHints:
    """What a provider may use to raise its prompt-cache hit rate, without learning anything of the prompt."""

    workspace_id: int
    cache_secret: str
    # The TTL Anthropic breakpoints get, chosen from the conversation's cadence (proxy/shape/cache_cadence.py).
    anthropic_ttl: str = "5m"

    def prefix_key(self, body):
        """Return a key shared by this workspace's requests with the same system prompt (keyed, so opaque)."""
        system = [
            message.get("content")
            for message in body.get("messages") or ()
            if message.get("role") in ("system", "developer")
        ]
        system_prompt_hash = keys.prompt_hash(secret=self.cache_secret, body={"messages": system})
        return f"optera-{self.workspace_id}-{system_prompt_hash[:16]}"


@dataclass
class StreamOutcome:
    """What a relayed stream left behind: usage, whether it ended properly, the assembled answer."""

    usage: dict | None = None
    finished: bool = False
    finish_reason: str | None = None
    content_parts: list = field(default_factory=list)
    tool_calls: dict = field(default_factory=dict)

    refused: bool = False

    def add_delta(self, delta):
        """Fold one OpenAI chunk delta into the assembled message."""
        if delta.get("refusal"):
            self.refused = True
        content = delta.get("content")
        if content:
            self.content_parts.append(content)
        for call in delta.get("tool_calls") or ():
            slot = self.tool_calls.setdefault(
                call.get("index", 0), {"id": None, "type": "function", "function": {"name": "", "arguments": ""}}
            )
            if call.get("id"):
                slot["id"] = call["id"]
            function = call.get("function") or {}
            if function.get("name"):
                slot["function"]["name"] += function["name"]
            if function.get("arguments"):
                slot["function"]["arguments"] += function["arguments"]

    def assembled_message(self):
        message = {"role": "assistant", "content": "".join(self.content_parts) if self.content_parts else None}
        if self.tool_calls:
            message["tool_calls"] = [self.tool_calls[index] for index in sorted(self.tool_calls)]
        return message

    def completion_text(self):
        """Return the answer's text (content and tool arguments), for estimating tokens."""
        arguments = "".join(call["function"]["arguments"] for call in self.tool_calls.values())
        return "".join(self.content_parts) + arguments
