"""Tests for translating Anthropic responses and streams back into OpenAI's shapes (pure, no I/O)."""

import json

import pytest
from anthropic.types import (
    Message,
    RawMessageStreamEvent,
)
from openai.lib.streaming.chat import (
    ChatCompletionStreamState,
)
from openai.types.chat import (
    ChatCompletion,
    ChatCompletionChunk,
)
from pydantic import (
    TypeAdapter,
)

from proxy.providers.anthropic.errors import UpstreamStreamError
from proxy.providers.anthropic.response import anthropic_response_to_chat, normalise_anthropic_usage
from proxy.providers.anthropic.stream import AnthropicStreamTranslator
from tests.proxy.translation_helpers import (
    CREATED,
    MODEL,
)

# --- responses ---------------------------------------------------------------------


def anthropic_message(content: list[dict], stop_reason: str | None = "end_turn", **usage) -> dict:
    """Return an Anthropic Message dict, checked against the anthropic SDK's model."""
    message = {
        "id": "msg_01XFDUDYJgAACzvnptvVoYEL",
        "type": "message",
        "role": "assistant",
        "model": "claude-sonnet-4-5-20250929",
        "content": content,
        "stop_reason": stop_reason,
        "stop_sequence": None,
        "usage": {"input_tokens": 12, "output_tokens": 7, **usage},
    }
    Message.model_validate(message)
    return message


def to_chat(message: dict) -> dict:
    """Translate a Message and check that the openai SDK's model accepts the result."""
    completion = anthropic_response_to_chat(message, model="my-alias", created=CREATED)
    ChatCompletion.model_validate(completion)
    return completion


def test_text_response_becomes_a_chat_completion():
    completion = to_chat(anthropic_message([{"type": "text", "text": "Hello "}, {"type": "text", "text": "there"}]))
    assert completion == {
        "id": "chatcmpl-01XFDUDYJgAACzvnptvVoYEL",
        "object": "chat.completion",
        "created": CREATED,
        "model": "my-alias",
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": "Hello there"},
                "logprobs": None,
                "finish_reason": "stop",
            }
        ],
        "usage": normalise_anthropic_usage({"input_tokens": 12, "output_tokens": 7}),
        "system_fingerprint": None,
    }


def test_tool_use_response_has_tool_calls_and_no_content():
    message = anthropic_message(
        [
            {"type": "thinking", "thinking": "Need the weather.", "signature": "sig"},
            {"type": "tool_use", "id": "toolu_01", "name": "weather", "input": {"city": "Paris"}},
            {"type": "tool_use", "id": "toolu_02", "name": "clock", "input": {}},
        ],
        stop_reason="tool_use",
    )
    choice = to_chat(message)["choices"][0]
    assert choice["finish_reason"] == "tool_calls"
    assert choice["message"]["content"] is None
    calls = choice["message"]["tool_calls"]
    assert [(call["id"], call["function"]["name"], json.loads(call["function"]["arguments"])) for call in calls] == [
        ("toolu_01", "weather", {"city": "Paris"}),
        ("toolu_02", "clock", {}),
    ]


def test_text_with_tool_use_keeps_both():
    message = anthropic_message(
        [
            {"type": "text", "text": "Checking."},
            {"type": "tool_use", "id": "toolu_01", "name": "weather", "input": {"city": "Oslo"}},
        ],
        stop_reason="tool_use",
    )
    chat_message = to_chat(message)["choices"][0]["message"]
    assert chat_message["content"] == "Checking."
    assert len(chat_message["tool_calls"]) == 1


@pytest.mark.parametrize(
    ("stop_reason", "finish_reason"),
    [
        ("end_turn", "stop"),
        ("stop_sequence", "stop"),
        ("max_tokens", "length"),
        ("tool_use", "tool_calls"),
        ("refusal", "content_filter"),
        ("pause_turn", "stop"),
        ("model_context_window_exceeded", "length"),
        (None, "stop"),
    ],
)
def test_stop_reason_maps_to_finish_reason(stop_reason, finish_reason):
    completion = to_chat(anthropic_message([{"type": "text", "text": "x"}], stop_reason=stop_reason))
    assert completion["choices"][0]["finish_reason"] == finish_reason


def test_empty_response_has_empty_string_content():
    assert to_chat(anthropic_message([], stop_reason="max_tokens"))["choices"][0]["message"]["content"] == ""


CACHE_KEYS = ("cache_read_input_tokens", "cache_creation_input_tokens")


@pytest.mark.parametrize(
    ("usage", "expected"),
    [
        (
            {"input_tokens": 10, "output_tokens": 5, "cache_read_input_tokens": 100, "cache_creation_input_tokens": 20},
            (130, 5, 135, 100, 20),
        ),
        ({"input_tokens": 10, "output_tokens": 5}, (10, 5, 15, 0, 0)),
        ({"input_tokens": 10, "output_tokens": 5, **dict.fromkeys(CACHE_KEYS)}, (10, 5, 15, 0, 0)),
        ({}, (0, 0, 0, 0, 0)),
        (None, (0, 0, 0, 0, 0)),
    ],
    ids=["with-cache", "no-cache-keys", "null-cache", "empty", "none"],
)
def test_normalise_anthropic_usage(usage, expected):
    prompt, completion, total, cache_read, cache_creation = expected
    assert normalise_anthropic_usage(usage) == {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": total,
        "prompt_tokens_details": {"cached_tokens": cache_read},
        "cache_creation_input_tokens": cache_creation,
        "cache_read_input_tokens": cache_read,
    }


# --- streams -------------------------------------------------------------------------

STREAM_EVENT_ADAPTER = TypeAdapter(RawMessageStreamEvent)


def message_start(**usage) -> dict:
    message = anthropic_message([], stop_reason=None, **{"output_tokens": 1, **usage})
    return {"type": "message_start", "message": message}


def block_start(index: int, block: dict) -> dict:
    return {"type": "content_block_start", "index": index, "content_block": block}


def text_delta(index: int, value: str) -> dict:
    return {"type": "content_block_delta", "index": index, "delta": {"type": "text_delta", "text": value}}


def json_delta(index: int, fragment: str) -> dict:
    delta = {"type": "input_json_delta", "partial_json": fragment}
    return {"type": "content_block_delta", "index": index, "delta": delta}


def block_stop(index: int) -> dict:
    return {"type": "content_block_stop", "index": index}


def message_delta(stop_reason: str, **usage) -> dict:
    return {"type": "message_delta", "delta": {"stop_reason": stop_reason, "stop_sequence": None}, "usage": usage}


MESSAGE_STOP = {"type": "message_stop"}

TEXT_STREAM = [
    message_start(input_tokens=25, cache_read_input_tokens=100),
    block_start(0, {"type": "text", "text": ""}),
    {"type": "ping"},
    text_delta(0, "Hello"),
    text_delta(0, ", world"),
    block_stop(0),
    message_delta("end_turn", output_tokens=15),
    MESSAGE_STOP,
]

TOOL_STREAM = [
    message_start(input_tokens=40),
    block_start(0, {"type": "text", "text": ""}),
    text_delta(0, "Let me check."),
    block_stop(0),
    block_start(1, {"type": "tool_use", "id": "toolu_A", "name": "weather", "input": {}}),
    json_delta(1, ""),
    json_delta(1, '{"city": '),
    json_delta(1, '"Paris"}'),
    block_stop(1),
    block_start(2, {"type": "tool_use", "id": "toolu_B", "name": "clock", "input": {}}),
    block_stop(2),
    message_delta("tool_use", output_tokens=60),
    MESSAGE_STOP,
]


def run_stream(events: list[dict], *, include_usage: bool) -> tuple[AnthropicStreamTranslator, list[dict]]:
    """Feed events (checked against anthropic's event types) and check every chunk with openai's."""
    translator = AnthropicStreamTranslator(MODEL, CREATED, include_usage, "chatcmpl-stream1")
    chunks = []
    for event in events:
        if event["type"] != "ping":
            STREAM_EVENT_ADAPTER.validate_python(event)
        chunks.extend(translator.feed(event["type"], event))
    for chunk in chunks:
        ChatCompletionChunk.model_validate(chunk)
    return translator, chunks


def accumulate_with_openai_sdk(chunks: list[dict]):
    """Return the completion the openai SDK assembles from the chunks."""
    state = ChatCompletionStreamState()
    for chunk in chunks:
        list(state.handle_chunk(ChatCompletionChunk.model_validate(chunk)))
    return state.get_final_completion()


def test_text_stream_becomes_role_content_and_finish_chunks():
    translator, chunks = run_stream(TEXT_STREAM, include_usage=False)
    assert [chunk["choices"][0]["delta"] for chunk in chunks] == [
        {"role": "assistant", "content": ""},
        {"content": "Hello"},
        {"content": ", world"},
        {},
    ]
    assert [chunk["choices"][0]["finish_reason"] for chunk in chunks] == [None, None, None, "stop"]
    assert all(chunk["id"] == "chatcmpl-stream1" and chunk["object"] == "chat.completion.chunk" for chunk in chunks)
    assert all("usage" not in chunk for chunk in chunks)
    assert translator.finished and translator.finish_reason == "stop"
    assert translator.assembled_message() == {"role": "assistant", "content": "Hello, world"}
    assert accumulate_with_openai_sdk(chunks).choices[0].message.content == "Hello, world"


def test_usage_chunk_is_sent_last_only_when_include_usage():
    translator, chunks = run_stream(TEXT_STREAM, include_usage=True)
    *content_chunks, usage_chunk = chunks
    assert all(chunk["usage"] is None for chunk in content_chunks)
    assert usage_chunk["choices"] == []
    assert usage_chunk["usage"] == translator.usage
    assert (translator.usage["prompt_tokens"], translator.usage["completion_tokens"]) == (125, 15)
    assert translator.usage["prompt_tokens_details"] == {"cached_tokens": 100}


def test_tool_call_stream_numbers_tool_calls_from_zero():
    translator, chunks = run_stream(TOOL_STREAM, include_usage=False)
    deltas = [chunk["choices"][0]["delta"] for chunk in chunks]
    tool_deltas = [delta["tool_calls"][0] for delta in deltas if "tool_calls" in delta]
    assert tool_deltas == [
        {"index": 0, "id": "toolu_A", "type": "function", "function": {"name": "weather", "arguments": ""}},
        {"index": 0, "function": {"arguments": '{"city": '}},
        {"index": 0, "function": {"arguments": '"Paris"}'}},
        {"index": 1, "id": "toolu_B", "type": "function", "function": {"name": "clock", "arguments": ""}},
        # A call without arguments gets "{}" so clients can parse it.
        {"index": 1, "function": {"arguments": "{}"}},
    ]
    assert chunks[-1]["choices"][0]["finish_reason"] == "tool_calls"
    assembled = translator.assembled_message()
    assert assembled["content"] == "Let me check."
    assert [(call["id"], json.loads(call["function"]["arguments"])) for call in assembled["tool_calls"]] == [
        ("toolu_A", {"city": "Paris"}),
        ("toolu_B", {}),
    ]
    sdk_message = accumulate_with_openai_sdk(chunks).choices[0].message
    assert [(call.id, call.function.name, call.function.arguments) for call in sdk_message.tool_calls] == [
        (call["id"], call["function"]["name"], call["function"]["arguments"]) for call in assembled["tool_calls"]
    ]


def test_assembled_completion_matches_the_non_streaming_shape():
    translator, _chunks = run_stream(TOOL_STREAM, include_usage=False)
    completion = translator.assembled_completion()
    ChatCompletion.model_validate(completion)
    assert completion["id"] == "chatcmpl-stream1"
    assert completion["choices"][0]["finish_reason"] == "tool_calls"
    assert completion["choices"][0]["message"] == translator.assembled_message()
    assert completion["usage"]["completion_tokens"] == 60


def test_a_stream_cut_before_message_stop_keeps_usage_and_partial_text():
    translator, chunks = run_stream(TEXT_STREAM[:4], include_usage=True)
    assert not translator.finished
    assert translator.finish_reason is None
    assert translator.usage["prompt_tokens"] == 125
    assert translator.usage["completion_tokens"] == 1
    assert translator.assembled_message() == {"role": "assistant", "content": "Hello"}
    assert all(chunk["choices"] for chunk in chunks)


def test_message_delta_usage_is_cumulative_and_overrides_earlier_counts():
    translator, _chunks = run_stream(
        [
            message_start(input_tokens=10),
            message_delta("max_tokens", output_tokens=30, input_tokens=12, cache_creation_input_tokens=50),
        ],
        include_usage=False,
    )
    assert translator.usage["prompt_tokens"] == 62
    assert translator.usage["completion_tokens"] == 30
    assert translator.usage["cache_creation_input_tokens"] == 50
    assert translator.finish_reason == "length" and not translator.finished


@pytest.mark.parametrize("event_type", ["ping", "content_block_stop", "some_future_event"])
def test_events_without_openai_meaning_produce_no_chunks(event_type):
    translator = AnthropicStreamTranslator(MODEL, CREATED, True, "chatcmpl-x")
    assert translator.feed(event_type, {"type": event_type, "index": 0}) == []


def test_thinking_deltas_produce_no_chunks():
    translator = AnthropicStreamTranslator(MODEL, CREATED, False, "chatcmpl-x")
    translator.feed("content_block_start", block_start(0, {"type": "thinking", "thinking": "", "signature": ""}))
    delta = {"type": "content_block_delta", "index": 0, "delta": {"type": "thinking_delta", "thinking": "Hmm"}}
    assert translator.feed("content_block_delta", delta) == []
    assert translator.assembled_message()["content"] == ""


def test_error_event_raises_upstream_stream_error():
    translator = AnthropicStreamTranslator(MODEL, CREATED, False, "chatcmpl-x")
    translator.feed("message_start", message_start(input_tokens=5))
    error_event = {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}
    with pytest.raises(UpstreamStreamError) as caught:
        translator.feed("error", error_event)
    assert (caught.value.message, caught.value.type) == ("Overloaded", "overloaded_error")
    assert translator.usage["prompt_tokens"] == 5
