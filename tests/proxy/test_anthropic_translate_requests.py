"""Tests for translating OpenAI chat requests into Anthropic Messages requests (pure, no I/O)."""

import json

import pytest

from proxy.providers.anthropic.errors import TranslationError
from proxy.providers.anthropic.request import chat_request_to_anthropic
from tests.proxy.translation_helpers import (
    EPHEMERAL,
    MODEL,
    PNG_DATA,
    assistant_calling,
    function_call,
    image,
    text,
    translate,
    user,
)

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
        "no-messages",
        "system-only",
        "unknown-role",
        "legacy-function-role",
        "input-audio",
        "ftp-image",
        "non-base64-data-url",
        "unsupported-image-type",
        "openai-file-id",
        "non-pdf-file",
        "image-in-system",
        "content-not-string-or-list",
        "tool-without-id",
        "invalid-arguments-json",
        "arguments-not-object",
        "custom-tool-call",
        "legacy-function-call",
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
