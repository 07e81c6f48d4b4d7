"""Translate Anthropic messages and usage into OpenAI chat completion shapes."""

import json
from types import MappingProxyType

from analytics.pricing import one_hour_writes

# Anthropic's stop_reason -> OpenAI's finish_reason. pause_turn (a server tool
# paused a long turn) has no OpenAI meaning and falls back to "stop";
# running out of context window is reported like running out of max_tokens.
_FINISH_REASONS = MappingProxyType(
    {
        "end_turn": "stop",
        "stop_sequence": "stop",
        "max_tokens": "length",
        "model_context_window_exceeded": "length",
        "tool_use": "tool_calls",
        "refusal": "content_filter",
    }
)


def finish_reason_for(stop_reason: str | None) -> str:
    """Return the OpenAI finish_reason for an Anthropic stop_reason."""
    return _FINISH_REASONS.get(stop_reason, "stop")


def normalise_anthropic_usage(usage: dict | None) -> dict:
    """Return Anthropic usage as OpenAI usage, keeping cache reads and writes apart.

    Anthropic's input_tokens excludes cached tokens, while OpenAI's
    prompt_tokens counts every prompt token, so the three are added. The
    cache counts stay at top level because cost accounting prices them
    differently from ordinary input.
    """
    usage = usage or {}
    input_tokens = _token_count(usage, "input_tokens")
    cache_read_tokens = _token_count(usage, "cache_read_input_tokens")
    cache_creation_tokens = _token_count(usage, "cache_creation_input_tokens")
    completion_tokens = _token_count(usage, "output_tokens")
    prompt_tokens = input_tokens + cache_read_tokens + cache_creation_tokens
    normalised = {
        "prompt_tokens": prompt_tokens,
        "completion_tokens": completion_tokens,
        "total_tokens": prompt_tokens + completion_tokens,
        "prompt_tokens_details": {"cached_tokens": cache_read_tokens},
        "cache_creation_input_tokens": cache_creation_tokens,
        "cache_read_input_tokens": cache_read_tokens,
    }
    one_hour = one_hour_writes(usage)
    if one_hour:  # the 1-hour cache's writes, billed at 2x input rather than 1.25x
        normalised["cache_creation_1h_input_tokens"] = one_hour
    return normalised


def _token_count(usage: dict, key: str) -> int:
    """Return a token count from Anthropic usage, counting a missing or null one as 0."""
    value = usage.get(key)
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def anthropic_response_to_chat(message: dict, *, model: str, created: int) -> dict:
    """Return the OpenAI chat.completion object for an Anthropic Message."""
    text_parts = []
    tool_calls = []
    for block in message.get("content") or []:
        if block.get("type") == "text":
            text_parts.append(block.get("text") or "")
        elif block.get("type") == "tool_use":
            tool_calls.append(
                tool_call(
                    tool_call_id=block["id"],
                    name=block["name"],
                    arguments=json.dumps(block.get("input") or {}, ensure_ascii=False),
                )
            )
        # Thinking and server-tool blocks have no place in a chat.completion.
    return chat_completion(
        completion_id=chat_completion_id(message.get("id") or ""),
        model=model,
        created=created,
        message=assistant_message(text="".join(text_parts), tool_calls=tool_calls),
        finish_reason=finish_reason_for(message.get("stop_reason")),
        usage=normalise_anthropic_usage(message.get("usage")),
    )


def chat_completion_id(anthropic_message_id: str) -> str:
    """Return "chatcmpl-" followed by the Anthropic id without its "msg_" prefix."""
    _prefix, separator, suffix = anthropic_message_id.partition("_")
    return "chatcmpl-" + (suffix if separator else anthropic_message_id)


def tool_call(*, tool_call_id: str, name: str, arguments: str) -> dict:
    """Return one OpenAI assistant tool call."""
    return {"id": tool_call_id, "type": "function", "function": {"name": name, "arguments": arguments}}


def assistant_message(*, text: str, tool_calls: list[dict]) -> dict:
    """Return the OpenAI assistant message; content is None when only tools were called."""
    message: dict = {"role": "assistant", "content": text if text or not tool_calls else None}
    if tool_calls:
        message["tool_calls"] = tool_calls
    return message


def chat_completion(
    *, completion_id: str, model: str, created: int, message: dict, finish_reason: str, usage: dict
) -> dict:
    """Return an OpenAI chat.completion object with a single choice."""
    return {
        "id": completion_id,
        "object": "chat.completion",
        "created": created,
        "model": model,
        "choices": [{"index": 0, "message": message, "logprobs": None, "finish_reason": finish_reason}],
        "usage": usage,
        "system_fingerprint": None,
    }
