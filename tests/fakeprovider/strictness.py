"""What the real APIs refuse before answering, played by the fake: a key that is not a key, a model
that does not exist, `stream_options` without `stream`, more than four cache breakpoints."""

from __future__ import annotations

from typing import Any

# Model families the providers serve; a name outside them is "not found", as the real APIs say.
KNOWN_MODEL_PREFIXES = ("gpt-", "o1", "o3", "o4", "chatgpt-", "text-embedding-", "claude-", "ft:")
MAX_CACHE_BREAKPOINTS = 4
# Anthropic caches nothing shorter than this many tokens, by model (the documented minimums).
ANTHROPIC_CACHE_MINIMUMS = (("claude-haiku-4-5", 4096), ("claude-opus-4-5", 4096), ("claude-3-5-haiku", 2048))


def refusal(provider: str, path: str, api_key: str, payload: Any) -> tuple[int, str] | None:
    """Return (status, message) when the real API would refuse this request outright, else None."""
    if api_key and not api_key.startswith("sk-"):
        return 401, "Incorrect API key provided." if provider == "openai" else "invalid x-api-key"
    if not isinstance(payload, dict):
        return None
    model = payload.get("model")
    if isinstance(model, str) and not model.startswith(KNOWN_MODEL_PREFIXES):
        return 404, f"The model `{model}` does not exist or you do not have access to it."
    if path == "/v1/chat/completions" and payload.get("stream_options") is not None and not payload.get("stream"):
        return 400, "The 'stream_options' parameter is only allowed when 'stream' is enabled."
    if provider == "anthropic":
        breakpoints = count_cache_breakpoints(payload)
        if breakpoints > MAX_CACHE_BREAKPOINTS:
            return (
                400,
                f"A maximum of {MAX_CACHE_BREAKPOINTS} blocks with cache_control may be provided. Found {breakpoints}.",
            )
    return None


def count_cache_breakpoints(payload: dict) -> int:
    blocks: list[Any] = list(payload.get("tools") or [])
    if isinstance(payload.get("system"), list):
        blocks += payload["system"]
    for message in payload.get("messages") or ():
        if isinstance(message, dict) and isinstance(message.get("content"), list):
            blocks += message["content"]
    return sum(1 for block in blocks if isinstance(block, dict) and block.get("cache_control"))


def anthropic_cache_minimum(model: str, default: int) -> int:
    for prefix, minimum in ANTHROPIC_CACHE_MINIMUMS:
        if model.startswith(prefix):
            return minimum
    return default
