"""Tests for the OpenAI <-> Anthropic translation layer (pure functions, no I/O)."""

import json
from collections.abc import Iterator

import pytest
from anthropic.types import (
    DocumentBlockParam,
    ImageBlockParam,
    Message,
    RawMessageStreamEvent,
    TextBlockParam,
    ToolParam,
    ToolResultBlockParam,
    ToolUseBlockParam,
)
from anthropic.types.message_create_params import (
    MessageCreateParamsNonStreaming,
    MessageCreateParamsStreaming,
)
from openai.lib.streaming.chat import ChatCompletionStreamState
from openai.types.chat import ChatCompletion, ChatCompletionChunk
from pydantic import TypeAdapter

from proxy.providers.anthropic_translate import (
    AnthropicStreamTranslator,
    TranslationError,
    UpstreamStreamError,
    anthropic_response_to_chat,
    chat_request_to_anthropic,
    normalise_anthropic_usage,
)

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


# --- requests: messages ---------------------------------------------------------


def test_minimal_request_gets_model_default_max_tokens_and_a_user_turn():
    request = translate([{"role": "user", "content": "Hi"}])
    assert request == {"model": MODEL, "max_tokens": 4096, "messages": [{"role": "user", "content": [text("Hi")]}]}


def test_system_and_developer_messages_are_hoisted_in_order_as_separate_blocks():
    request = translate(
        [
            {"role": "system", "content": "Be brief."},
            {"role": "developer", "content": [text("Answer in French."), text("Cite sources.")]},
            {"role": "user", "content": "Hi"},
            {"role": "system", "content": "Late rule."},
            {"role": "user", "content": "Again"},
        ]
    )
    assert request["system"] == [
        text("Be brief."),
        text("Answer in French."),
        text("Cite sources."),
        text("Late rule."),
    ]
    # Hoisting the late system message leaves two user turns in a row, merged into one.
    assert request["messages"] == [{"role": "user", "content": [text("Hi"), text("Again")]}]


@pytest.mark.parametrize(
    ("messages", "expected_turns"),
    [
        (
            [{"role": "user", "content": "a"}, {"role": "user", "content": "b"}],
            [("user", ["a", "b"])],
        ),
        (
            [
                {"role": "user", "content": "a"},
                {"role": "assistant", "content": "b"},
                {"role": "assistant", "content": "c"},
                {"role": "user", "content": "d"},
            ],
            [("user", ["a"]), ("assistant", ["b", "c"]), ("user", ["d"])],
        ),
        (
            [{"role": "user", "content": "a"}, {"role": "user", "content": ""}, {"role": "assistant", "content": "b"}],
            [("user", ["a"]), ("assistant", ["b"])],
        ),
    ],
    ids=["two-users", "two-assistants", "empty-message-skipped"],
)
def test_consecutive_same_role_messages_are_merged(messages, expected_turns):
    request = translate(messages)
    turns = [(turn["role"], [block["text"] for block in turn["content"]]) for turn in request["messages"]]
    assert turns == expected_turns


def test_tool_calls_and_their_results_round_trip_as_tool_use_and_one_tool_result_turn():
    request = translate(
        [
            {"role": "user", "content": "Weather in Paris and Rome?"},
            {
                "role": "assistant",
                "content": "",
                "tool_calls": [
                    function_call("call_1", "weather", '{"city": "Paris"}'),
                    function_call("call_2", "weather", '{"city": "Rome"}'),
                    function_call("call_3", "clock", ""),
                ],
            },
            {"role": "tool", "tool_call_id": "call_1", "content": "18C"},
            {"role": "tool", "tool_call_id": "call_2", "content": [text("21C", cache_control=EPHEMERAL)]},
            {"role": "tool", "tool_call_id": "call_3", "content": ""},
            {"role": "user", "content": "Thanks, and tomorrow?"},
        ]
    )
    user, assistant, results = request["messages"]
    assert user["role"] == "user"
    assert assistant == {
        "role": "assistant",
        "content": [
            {"type": "tool_use", "id": "call_1", "name": "weather", "input": {"city": "Paris"}},
            {"type": "tool_use", "id": "call_2", "name": "weather", "input": {"city": "Rome"}},
            {"type": "tool_use", "id": "call_3", "name": "clock", "input": {}},
        ],
    }
    assert results == {
        "role": "user",
        "content": [
            {"type": "tool_result", "tool_use_id": "call_1", "content": "18C"},
            {"type": "tool_result", "tool_use_id": "call_2", "content": [text("21C", cache_control=EPHEMERAL)]},
            {"type": "tool_result", "tool_use_id": "call_3"},
            text("Thanks, and tomorrow?"),
        ],
    }


def test_tool_ids_from_other_providers_are_made_acceptable_to_anthropic_on_both_sides():
    request = translate(
        [
            {"role": "user", "content": "x"},
            assistant_calling(function_call("functions.get:0", "get", "{}")),
            {"role": "tool", "tool_call_id": "functions.get:0", "content": "ok"},
        ]
    )
    assert request["messages"][1]["content"][0]["id"] == "functions_get_0"
    assert request["messages"][2]["content"][0]["tool_use_id"] == "functions_get_0"


def test_assistant_text_and_refusal_parts_become_text_blocks():
    request = translate(
        [
            {"role": "user", "content": "x"},
            {"role": "assistant", "content": [text("Part one."), {"type": "refusal", "refusal": "I can't do that."}]},
            {"role": "user", "content": "y"},
        ]
    )
    assert request["messages"][1]["content"] == [text("Part one."), text("I can't do that.")]


@pytest.mark.parametrize(
    ("image_url", "expected_source"),
    [
        ({"url": "https://x.test/cat.png", "detail": "high"}, {"type": "url", "url": "https://x.test/cat.png"}),
        ("https://x.test/cat.png", {"type": "url", "url": "https://x.test/cat.png"}),
        ({"url": f"data:image/png;base64,{PNG_DATA}"}, {"type": "base64", "media_type": "image/png", "data": PNG_DATA}),
        (
            {"url": f"data:image/jpg;base64,{PNG_DATA}"},
            {"type": "base64", "media_type": "image/jpeg", "data": PNG_DATA},
        ),
    ],
    ids=["https", "bare-string", "base64-png", "jpg-alias"],
)
def test_image_parts_become_image_blocks(image_url, expected_source):
    request = translate([user(text("What is this?"), {"type": "image_url", "image_url": image_url})])
    assert request["messages"][0]["content"][1] == {"type": "image", "source": expected_source}


def test_inline_pdf_file_becomes_a_document_block():
    file_data = "data:application/pdf;base64,JVBERi0x"
    request = translate([user({"type": "file", "file": {"filename": "report.pdf", "file_data": file_data}})])
    assert request["messages"][0]["content"] == [
        {
            "type": "document",
            "source": {"type": "base64", "media_type": "application/pdf", "data": "JVBERi0x"},
            "title": "report.pdf",
        }
    ]


def test_cache_control_on_parts_and_messages_is_preserved():
    ephemeral = {"type": "ephemeral"}
    request = translate(
        [
            {"role": "system", "content": [text("Long rules.", cache_control=ephemeral)]},
            {"role": "system", "content": "Whole-message marker.", "cache_control": {"type": "ephemeral", "ttl": "1h"}},
            {
                "role": "user",
                "content": [
                    text("Document...", cache_control=ephemeral),
                    image("https://x.test/a.png", cache_control=ephemeral),
                    text("Question"),
                ],
            },
        ]
    )
    assert request["system"] == [
        text("Long rules.", cache_control=ephemeral),
        text("Whole-message marker.", cache_control={"type": "ephemeral", "ttl": "1h"}),
    ]
    assert [block.get("cache_control") for block in request["messages"][0]["content"]] == [ephemeral, ephemeral, None]


@pytest.mark.parametrize(
    ("messages", "param"),
    [
        ([], "messages"),
        ([{"role": "system", "content": "Only a system prompt."}], "messages"),
        ([{"role": "narrator", "content": "x"}], "messages[0].role"),
        ([{"role": "function", "name": "f", "content": "x"}], "messages[0].role"),
        (
            [user(text("x"), {"type": "input_audio", "input_audio": {"data": "", "format": "wav"}})],
            "messages[0].content[1].type",
        ),
        ([user(image("ftp://x.test/a.png"))], "messages[0].content[0].image_url.url"),
        ([user(image("data:image/png,rawbytes"))], "messages[0].content[0].image_url.url"),
        ([user(image(f"data:image/tiff;base64,{PNG_DATA}"))], "messages[0].content[0].image_url.url"),
        ([user({"type": "file", "file": {"file_id": "file-abc"}})], "messages[0].content[0].file.file_id"),
        (
            [user({"type": "file", "file": {"file_data": "data:text/csv;base64,YQ=="}})],
            "messages[0].content[0].file.file_data",
        ),
        ([{"role": "system", "content": [image("https://x.test/a.png")]}], "messages[0].content[0].type"),
        ([{"role": "user", "content": 42}], "messages[0].content"),
        ([{"role": "tool", "content": "orphan"}], "messages[0].tool_call_id"),
        ([assistant_calling(function_call("c", "f", "{oops"))], "messages[0].tool_calls[0].function.arguments"),
        ([assistant_calling(function_call("c", "f", "[1, 2]"))], "messages[0].tool_calls[0].function.arguments"),
        (
            [assistant_calling({"id": "c", "type": "custom", "custom": {"name": "f", "input": "x"}})],
            "messages[0].tool_calls[0].type",
        ),
        ([{"role": "assistant", "function_call": {"name": "f", "arguments": "{}"}}], "messages[0].function_call"),
    ],
    ids=[
        "no-messages", "system-only", "unknown-role", "legacy-function-role", "input-audio", "ftp-image",
        "non-base64-data-url", "unsupported-image-type", "openai-file-id", "non-pdf-file", "image-in-system",
        "content-not-string-or-list", "tool-without-id", "invalid-arguments-json", "arguments-not-object",
        "custom-tool-call", "legacy-function-call",
    ],
)
def test_untranslatable_messages_raise_translation_error_naming_the_field(messages, param):
    with pytest.raises(TranslationError) as caught:
        chat_request_to_anthropic({"messages": messages}, model=MODEL)
    assert caught.value.param == param
    assert caught.value.message == str(caught.value)
    assert isinstance(caught.value, ValueError)


# --- requests: options ------------------------------------------------------------

WEATHER_TOOL = {
    "type": "function",
    "function": {
        "name": "weather",
        "description": "Current weather for a city.",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
        "strict": True,
    },
}
USER_HI = [{"role": "user", "content": "Hi"}]


def test_function_tools_become_anthropic_tools():
    no_parameters_tool = {"type": "function", "function": {"name": "clock"}, "cache_control": {"type": "ephemeral"}}
    request = translate(USER_HI, tools=[WEATHER_TOOL, no_parameters_tool])
    assert request["tools"] == [
        {
            "name": "weather",
            "description": "Current weather for a city.",
            "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
        },
        {"name": "clock", "input_schema": {"type": "object", "properties": {}}, "cache_control": {"type": "ephemeral"}},
    ]
    assert "tool_choice" not in request


@pytest.mark.parametrize(
    ("options", "expected_tool_choice"),
    [
        ({"tool_choice": "auto"}, {"type": "auto"}),
        ({"tool_choice": "required"}, {"type": "any"}),
        ({"tool_choice": "none"}, {"type": "none"}),
        ({"tool_choice": {"type": "function", "function": {"name": "weather"}}}, {"type": "tool", "name": "weather"}),
        ({"parallel_tool_calls": False}, {"type": "auto", "disable_parallel_tool_use": True}),
        ({"tool_choice": "required", "parallel_tool_calls": False}, {"type": "any", "disable_parallel_tool_use": True}),
        (
            {"tool_choice": {"type": "function", "function": {"name": "weather"}}, "parallel_tool_calls": False},
            {"type": "tool", "name": "weather", "disable_parallel_tool_use": True},
        ),
        ({"tool_choice": "none", "parallel_tool_calls": False}, {"type": "none"}),
        ({"tool_choice": "auto", "parallel_tool_calls": True}, {"type": "auto"}),
    ],
)
def test_tool_choice_and_parallel_tool_calls(options, expected_tool_choice):
    assert translate(USER_HI, tools=[WEATHER_TOOL], **options)["tool_choice"] == expected_tool_choice


def test_tool_choice_that_needs_no_tool_is_dropped_without_tools():
    request = translate(USER_HI, tool_choice="auto", parallel_tool_calls=False)
    assert "tool_choice" not in request and "tools" not in request


@pytest.mark.parametrize(
    ("options", "param"),
    [
        ({"tools": [WEATHER_TOOL], "tool_choice": "sometimes"}, "tool_choice"),
        ({"tools": [WEATHER_TOOL], "tool_choice": {"type": "allowed_tools", "allowed_tools": {}}}, "tool_choice"),
        ({"tool_choice": "required"}, "tool_choice"),
        ({"tools": [{"type": "custom", "custom": {"name": "grammar"}}]}, "tools[0].type"),
        ({"tools": [{"type": "function", "function": {"description": "nameless"}}]}, "tools[0].function.name"),
        ({"n": 2}, "n"),
        ({"logprobs": True}, "logprobs"),
        ({"top_logprobs": 3}, "top_logprobs"),
        ({"modalities": ["text", "audio"], "audio": {"voice": "alloy", "format": "mp3"}}, "modalities"),
        ({"functions": [{"name": "f"}]}, "functions"),
        ({"max_tokens": -1}, "max_tokens"),
        ({"max_completion_tokens": "100"}, "max_completion_tokens"),
        ({"temperature": "hot"}, "temperature"),
        ({"stop": ["ok", 3]}, "stop"),
        ({"response_format": {"type": "xml"}}, "response_format.type"),
        (
            {"response_format": {"type": "json_schema", "json_schema": {"name": "x", "schema": "{}"}}},
            "response_format.json_schema.schema",
        ),
    ],
)
def test_untranslatable_options_raise_translation_error(options, param):
    with pytest.raises(TranslationError) as caught:
        chat_request_to_anthropic({"messages": USER_HI, **options}, model=MODEL)
    assert caught.value.param == param


@pytest.mark.parametrize(
    ("stop", "expected"),
    [("END", ["END"]), (["a", "b"], ["a", "b"]), (None, None), ([], None), ("", None)],
)
def test_stop_becomes_stop_sequences(stop, expected):
    assert translate(USER_HI, stop=stop).get("stop_sequences") == expected


@pytest.mark.parametrize(
    ("temperature", "expected"),
    [(0, 0), (0.7, 0.7), (1.0, 1.0), (1.5, 1.0), (2, 1.0), (-0.5, 0.0), (None, None)],
)
def test_temperature_is_clamped_to_anthropics_range(temperature, expected):
    assert translate(USER_HI, temperature=temperature).get("temperature") == expected


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        ({"top_p": 0.9}, {"top_p": 0.9}),
        ({"temperature": 0.3, "top_p": 0.9}, {"temperature": 0.3}),
        ({"temperature": 0.3, "top_p": 1}, {"temperature": 0.3}),
    ],
)
def test_top_p_is_sent_only_without_temperature(options, expected):
    request = translate(USER_HI, **options)
    assert {key: request[key] for key in ("temperature", "top_p") if key in request} == expected


def test_sampling_parameters_are_dropped_for_models_that_reject_them():
    body = {"messages": USER_HI, "temperature": 0.2, "top_p": 0.5}
    request = chat_request_to_anthropic(body, model=MODEL, model_accepts_sampling=False)
    assert "temperature" not in request and "top_p" not in request


@pytest.mark.parametrize(
    ("options", "default_max_tokens", "expected"),
    [
        ({}, 4096, 4096),
        ({}, 1000, 1000),
        ({"max_tokens": 300}, 4096, 300),
        ({"max_completion_tokens": 500}, 4096, 500),
        ({"max_completion_tokens": 500, "max_tokens": 300}, 4096, 500),
        ({"max_tokens": None}, 4096, 4096),
    ],
)
def test_max_tokens(options, default_max_tokens, expected):
    body = {"messages": USER_HI, **options}
    request = chat_request_to_anthropic(body, model=MODEL, default_max_tokens=default_max_tokens)
    assert request["max_tokens"] == expected


def test_user_becomes_metadata_and_stream_passes_through():
    request = translate(USER_HI, user="user-123", stream=True)
    assert request["metadata"] == {"user_id": "user-123"}
    assert request["stream"] is True
    assert translate(USER_HI, stream=False)["stream"] is False


def test_openai_only_fields_without_anthropic_meaning_are_dropped():
    request = translate(
        USER_HI,
        frequency_penalty=0.5,
        presence_penalty=0.5,
        logit_bias={"50256": -100},
        seed=7,
        stream_options={"include_usage": True},
        n=1,
        service_tier="auto",
        store=True,
        metadata={"team": "search"},
        logprobs=False,
        top_logprobs=0,
        modalities=["text"],
    )
    assert request == {"model": MODEL, "max_tokens": 4096, "messages": [{"role": "user", "content": [text("Hi")]}]}


def test_json_object_response_format_adds_a_final_system_instruction():
    request = translate([{"role": "system", "content": "Be brief."}, *USER_HI], response_format={"type": "json_object"})
    first, instruction = request["system"]
    assert first == text("Be brief.")
    assert "single valid JSON object" in instruction["text"]


def test_json_schema_response_format_puts_the_schema_in_the_instruction():
    schema = {"type": "object", "properties": {"answer": {"type": "string"}}, "required": ["answer"]}
    response_format = {"type": "json_schema", "json_schema": {"name": "answer", "schema": schema, "strict": True}}
    (instruction,) = translate(USER_HI, response_format=response_format)["system"]
    assert "Schema name: answer" in instruction["text"]
    assert json.loads(instruction["text"].splitlines()[-1]) == schema


def test_text_response_format_adds_nothing():
    assert "system" not in translate(USER_HI, response_format={"type": "text"})


def test_a_full_featured_request_is_valid_anthropic_streaming_params():
    translate(
        [
            {"role": "system", "content": "Be brief."},
            user(text("Look"), image(f"data:image/webp;base64,{PNG_DATA}")),
            {**assistant_calling(function_call("call_1", "weather", '{"city": "Oslo"}')), "content": None},
            {"role": "tool", "tool_call_id": "call_1", "content": "-3C"},
        ],
        tools=[WEATHER_TOOL],
        tool_choice="auto",
        parallel_tool_calls=False,
        stop=["\n\n"],
        temperature=1.2,
        max_completion_tokens=256,
        user="u1",
        stream=True,
        response_format={"type": "json_object"},
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
