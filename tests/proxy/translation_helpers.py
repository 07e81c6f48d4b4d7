"""Shared helpers and fixtures data for the translation tests."""

from collections.abc import Iterator

from anthropic.types import (
    DocumentBlockParam,
    ImageBlockParam,
    TextBlockParam,
    ToolParam,
    ToolResultBlockParam,
    ToolUseBlockParam,
)
from anthropic.types.message_create_params import (
    MessageCreateParamsNonStreaming,
    MessageCreateParamsStreaming,
)
from pydantic import TypeAdapter

from proxy.providers.anthropic.request import chat_request_to_anthropic

MODEL = "claude-sonnet-4-5"
CREATED = 1_700_000_000
PNG_DATA = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk"
EPHEMERAL = {"type": "ephemeral"}

BLOCK_PARAM_TYPES = {
    "text": TextBlockParam,
    "image": ImageBlockParam,
    "document": DocumentBlockParam,
    "tool_use": ToolUseBlockParam,
    "tool_result": ToolResultBlockParam,
}

# Building an adapter takes tens of milliseconds, so build each one once.
REQUEST_ADAPTERS = {
    MessageCreateParamsNonStreaming: TypeAdapter(MessageCreateParamsNonStreaming),
    MessageCreateParamsStreaming: TypeAdapter(MessageCreateParamsStreaming),
}


def translate(messages: list[dict], **options) -> dict:
    """Translate a chat request and check that the anthropic SDK's typing accepts it."""
    request = chat_request_to_anthropic({"model": "claude", "messages": messages, **options}, model=MODEL)
    assert_valid_anthropic_request(request)
    return request


def assert_valid_anthropic_request(request: dict) -> None:
    """Fail unless the request fits anthropic's MessageCreateParams, with no unknown keys."""
    params_type = MessageCreateParamsStreaming if request.get("stream") else MessageCreateParamsNonStreaming
    # The SDK types anthropic-version 2026-10-21, which dropped the sampling
    # parameters; the proxy sends 2023-06-01, where they are still accepted.
    sampling_keys = {"temperature", "top_p"}
    assert set(request) <= _typed_dict_keys(params_type) | sampling_keys
    # Nested iterables validate lazily, so walk them to force validation while
    # the adapter that owns their validators is still alive.
    typed_request = {key: value for key, value in request.items() if key not in sampling_keys}
    _exhaust(REQUEST_ADAPTERS[params_type].validate_python(typed_request))
    for key in sampling_keys & set(request):
        assert isinstance(request[key], float | int) and 0 <= request[key] <= 1
    blocks = list(request.get("system", []))
    for turn in request["messages"]:
        for block in turn["content"]:
            blocks.append(block)
            if isinstance(block.get("content"), list):
                blocks.extend(block["content"])
    for block in blocks:
        assert set(block) <= _typed_dict_keys(BLOCK_PARAM_TYPES[block["type"]]), block
    for tool in request.get("tools", []):
        assert set(tool) <= _typed_dict_keys(ToolParam)


def _typed_dict_keys(typed_dict: type) -> set[str]:
    return set(typed_dict.__required_keys__) | set(typed_dict.__optional_keys__)


def _exhaust(value: object) -> None:
    if isinstance(value, dict):
        for item in value.values():
            _exhaust(item)
    elif isinstance(value, (list, Iterator)):
        for item in list(value):
            _exhaust(item)


def text(value: str, **extra) -> dict:
    return {"type": "text", "text": value, **extra}


def image(url: str, **extra) -> dict:
    return {"type": "image_url", "image_url": {"url": url}, **extra}


def user(*parts: dict) -> dict:
    return {"role": "user", "content": list(parts)}


def function_call(call_id: str, name: str, arguments: str) -> dict:
    return {"id": call_id, "type": "function", "function": {"name": name, "arguments": arguments}}


def assistant_calling(*tool_calls: dict) -> dict:
    return {"role": "assistant", "tool_calls": list(tool_calls)}
