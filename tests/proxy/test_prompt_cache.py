"""Tests for the provider prompt-cache hints and their pricing (no I/O)."""

import copy

import orjson
import pytest

from proxy.account.prices import provider_cache_saving_usd
from proxy.providers import openai
from proxy.providers.anthropic.cache_hints import (
    MAX_BREAKPOINTS,
    add_anthropic_breakpoints,
    min_cacheable_tokens,
)
from proxy.providers.base import PromptCacheHints

SONNET = "claude-sonnet-4-5"
EPHEMERAL = {"type": "ephemeral"}


def estimate_tokens(text):
    return len(text) // 4


def text_of(tokens):
    """Return a string that estimate_tokens counts as `tokens` tokens."""
    return "word" * tokens


def text_block(tokens):
    return {"type": "text", "text": text_of(tokens)}


def tool(tokens):
    return {
        "name": f"tool_{tokens}",
        "description": text_of(tokens),
        "input_schema": {"type": "object", "properties": {}},
    }


def marker_paths(value, path=()):
    """Return the path of every object that carries cache_control, in document order."""
    found = []
    if isinstance(value, dict):
        if "cache_control" in value:
            found.append(path)
        for key, inner in value.items():
            found.extend(marker_paths(inner, (*path, key)))
    elif isinstance(value, list):
        for index, inner in enumerate(value):
            found.extend(marker_paths(inner, (*path, index)))
    return found


def conversation(turns, tokens_per_message):
    """Return alternating user/assistant messages ending with a user message."""
    messages = []
    for turn in range(turns):
        messages.append({"role": "user", "content": text_of(tokens_per_message)})
        if turn < turns - 1:
            messages.append({"role": "assistant", "content": [text_block(tokens_per_message)]})
    return messages


def add(body, model=SONNET):
    return add_anthropic_breakpoints(body, model=model, estimate_tokens=estimate_tokens)


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(
            {
                "tools": [tool(2000), {**tool(10), "cache_control": EPHEMERAL}],
                "messages": conversation(3, 2000),
            },
            id="on a tool",
        ),
        pytest.param(
            {
                "system": [{**text_block(3000), "cache_control": EPHEMERAL}],
                "messages": conversation(3, 2000),
            },
            id="on the system",
        ),
        pytest.param(
            {
                "system": text_of(3000),
                "messages": [
                    {
                        "role": "user",
                        "content": [{**text_block(2000), "cache_control": EPHEMERAL}],
                    },
                    {"role": "assistant", "content": text_of(2000)},
                    {"role": "user", "content": text_of(2000)},
                ],
            },
            id="on an early message",
        ),
        pytest.param(
            {
                "system": text_of(3000),
                "messages": [
                    {"role": "user", "content": text_of(10)},
                    {
                        "role": "assistant",
                        "content": [{"type": "tool_use", "id": "t1", "name": "f", "input": {}}],
                    },
                    {
                        "role": "user",
                        "content": [
                            {
                                "type": "tool_result",
                                "tool_use_id": "t1",
                                "content": [{**text_block(2000), "cache_control": EPHEMERAL}],
                            }
                        ],
                    },
                ],
            },
            id="inside a tool result",
        ),
        pytest.param(
            {
                "cache_control": EPHEMERAL,
                "system": text_of(3000),
                "messages": conversation(3, 2000),
            },
            id="automatic caching at the top level",
        ),
    ],
)
def test_client_markers_are_respected(body):
    assert add(body) == body


@pytest.mark.parametrize(
    "body",
    [
        pytest.param({"messages": [{"role": "user", "content": "Hello"}]}, id="one short message"),
        pytest.param(
            {"system": text_of(300), "tools": [tool(300)], "messages": conversation(2, 100)},
            id="short system, tools and turns",
        ),
        pytest.param({"messages": []}, id="no messages"),
    ],
)
def test_short_prompts_get_no_markers(body):
    assert marker_paths(add(body)) == []


def test_long_string_system_becomes_a_marked_block():
    body = {"system": text_of(1500), "messages": [{"role": "user", "content": "Hi"}]}

    result = add(body)

    assert result["system"] == [{**text_block(1500), "cache_control": EPHEMERAL}]
    assert marker_paths(result) == [
        ("system", 0),
        # The whole prompt is marked too, so the next turn reads the first one.
        ("messages", 0, "content", 0),
    ]


def test_marker_goes_on_the_last_system_block():
    body = {
        "system": [text_block(800), text_block(800)],
        "messages": [{"role": "user", "content": "Hi"}],
    }

    result = add(body)

    assert "cache_control" not in result["system"][0]
    assert result["system"][1]["cache_control"] == EPHEMERAL


def test_long_conversation_marks_the_previous_turn_and_the_final_message():
    messages = conversation(6, 600)

    result = add({"system": "Be brief.", "messages": messages})

    final_user, previous_turn = len(messages) - 1, len(messages) - 2
    assert messages[previous_turn]["role"] == "assistant"
    assert marker_paths(result) == [
        ("messages", previous_turn, "content", 0),
        ("messages", final_user, "content", 0),
    ]


def test_each_new_turn_marks_the_reply_after_the_previous_requests_final_marker():
    """Turn N wrote up to its final message; turn N+1's previous-turn marker reads that back."""
    turn_five_messages = conversation(5, 600)
    turn_six_messages = conversation(6, 600)
    assert turn_six_messages[: len(turn_five_messages)] == turn_five_messages

    written_by_turn_five = marker_paths(add({"messages": turn_five_messages}))[-1]
    read_by_turn_six = marker_paths(add({"messages": turn_six_messages}))[0]

    assert written_by_turn_five[1] == len(turn_five_messages) - 1
    assert read_by_turn_six[1] == written_by_turn_five[1] + 1


def test_early_turns_below_the_minimum_are_not_marked():
    messages = conversation(3, 250)

    result = add({"messages": messages})

    # The previous turn ends at 4 x 250 = 1000 tokens, below Sonnet's 1024; the final one at 1250.
    assert marker_paths(result) == [("messages", 4, "content", 0)]


def test_everything_long_gets_exactly_four_markers_in_prefix_order():
    body = {
        "tools": [tool(1200), tool(1200)],
        "system": [text_block(1500)],
        "messages": conversation(4, 1500),
    }

    result = add(body)

    assert marker_paths(result) == [
        ("tools", 1),
        ("system", 0),
        ("messages", 5, "content", 0),
        ("messages", 6, "content", 0),
    ]


@pytest.mark.parametrize("turns", range(1, 12))
@pytest.mark.parametrize("tokens_per_message", [10, 700, 5000])
def test_never_more_than_four_markers(turns, tokens_per_message):
    body = {
        "tools": [tool(tokens_per_message)] * 3,
        "system": [text_block(tokens_per_message)] * 3,
        "messages": conversation(turns, tokens_per_message),
    }

    assert len(marker_paths(add(body))) <= MAX_BREAKPOINTS


def test_string_message_content_becomes_one_marked_text_block():
    body = {"messages": [{"role": "user", "content": text_of(2000)}]}

    result = add(body)

    assert result["messages"][0] == {
        "role": "user",
        "content": [{"type": "text", "text": text_of(2000), "cache_control": EPHEMERAL}],
    }


def test_thinking_and_empty_text_blocks_are_never_marked():
    body = {
        "messages": [
            {"role": "user", "content": text_of(1500)},
            {
                "role": "assistant",
                "content": [
                    text_block(100),
                    {"type": "thinking", "thinking": "hmm", "signature": "sig"},
                    {"type": "redacted_thinking", "data": "xyz"},
                ],
            },
            {"role": "user", "content": [text_block(100), {"type": "text", "text": "  "}]},
        ]
    }

    assert marker_paths(add(body)) == [
        ("messages", 1, "content", 0),
        ("messages", 2, "content", 0),
    ]


def test_a_turn_with_only_thinking_is_skipped():
    body = {
        "messages": [
            {"role": "user", "content": text_of(1500)},
            {
                "role": "assistant",
                "content": [{"type": "thinking", "thinking": "x", "signature": "s"}],
            },
            {"role": "user", "content": "Go on."},
        ]
    }

    assert marker_paths(add(body)) == [("messages", 2, "content", 0)]


def test_images_and_tool_results_count_towards_the_minimum():
    image = {
        "type": "image",
        "source": {"type": "base64", "media_type": "image/png", "data": "AA"},
    }
    body = {
        "messages": [
            {"role": "user", "content": [image, {"type": "text", "text": "What is this?"}]},
        ]
    }

    assert marker_paths(add(body)) == [("messages", 0, "content", 1)]

    tool_result_body = {
        "messages": [
            {"role": "user", "content": "Read the file."},
            {
                "role": "assistant",
                "content": [{"type": "tool_use", "id": "t1", "name": "read", "input": {}}],
            },
            {
                "role": "user",
                "content": [
                    {"type": "tool_result", "tool_use_id": "t1", "content": text_of(1100)},
                ],
            },
        ]
    }

    assert marker_paths(add(tool_result_body)) == [("messages", 2, "content", 0)]


def test_input_is_not_mutated():
    body = {
        "tools": [tool(1200)],
        "system": text_of(1500),
        "messages": conversation(4, 1500),
    }
    original = copy.deepcopy(body)

    result = add(body)

    assert body == original
    assert marker_paths(body) == []
    assert result is not body
    assert len(marker_paths(result)) == 4


@pytest.mark.parametrize(
    "model, expected_minimum",
    [
        ("claude-sonnet-4-5", 1024),
        ("claude-sonnet-4-5-20250929", 1024),
        ("claude-opus-4-1", 1024),
        ("claude-3-haiku-20240307", 2048),
        ("claude-3-5-haiku-latest", 2048),
        ("claude-haiku-4-5", 4096),
        ("claude-haiku-4.5", 4096),
        ("claude-opus-4-5-20251101", 4096),
        ("anthropic.claude-3-5-haiku-20241022-v1:0", 2048),
        ("some-future-model", 1024),
    ],
)
def test_min_cacheable_tokens(model, expected_minimum):
    assert min_cacheable_tokens(model) == expected_minimum


@pytest.mark.parametrize(
    "model, prompt_tokens, expect_marker",
    [
        ("claude-sonnet-4-5", 1500, True),
        ("claude-3-5-haiku-20241022", 1500, False),
        ("claude-3-5-haiku-20241022", 2500, True),
        ("claude-haiku-4-5", 2500, False),
        ("claude-haiku-4-5", 4500, True),
    ],
)
def test_model_minimum_is_respected(model, prompt_tokens, expect_marker):
    body = {"system": text_of(prompt_tokens), "messages": [{"role": "user", "content": "Hi"}]}

    result = add(body, model=model)

    assert ("system", 0) in marker_paths(result) if expect_marker else marker_paths(result) == []


def test_long_tools_alone_get_a_marker_on_the_last_tool():
    body = {"tools": [tool(600), tool(600)], "messages": [{"role": "user", "content": "Hi"}]}

    result = add(body)

    assert marker_paths(result) == [("tools", 1), ("messages", 0, "content", 0)]
    assert result["tools"][0] == body["tools"][0]


def test_short_tools_get_no_marker_of_their_own():
    body = {
        "tools": [tool(200)],
        "system": text_of(1500),
        "messages": [{"role": "user", "content": "Hi"}],
    }

    assert ("tools", 0) not in marker_paths(add(body))


def openai_upstream_body(body, *, cache_hints):
    request = openai.chat_request(body, model="gpt-4o", provider_key="sk-test", stream=False, cache_hints=cache_hints)
    return orjson.loads(request.body)


HINTS = PromptCacheHints(workspace_id=42, cache_secret="workspace-secret")


def test_openai_hint_sets_a_prompt_cache_key_per_workspace_and_system_prompt():
    body = {
        "model": "gpt-4o",
        "messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "a"}],
    }
    other_question = {**body, "messages": [body["messages"][0], {"role": "user", "content": "b"}]}
    other_system = {**body, "messages": [{"role": "system", "content": "Be long."}, body["messages"][1]]}

    key = openai_upstream_body(body, cache_hints=HINTS)["prompt_cache_key"]

    assert key.startswith("optera-42-") and len(key) == len("optera-42-") + 16
    assert "Be brief" not in key
    assert openai_upstream_body(other_question, cache_hints=HINTS)["prompt_cache_key"] == key
    assert openai_upstream_body(other_system, cache_hints=HINTS)["prompt_cache_key"] != key
    other_workspace = PromptCacheHints(workspace_id=43, cache_secret="workspace-secret")
    assert openai_upstream_body(body, cache_hints=other_workspace)["prompt_cache_key"].startswith("optera-43-")
    assert openai_upstream_body(body, cache_hints=HINTS)["messages"] == body["messages"]
    assert "prompt_cache_key" not in body


def test_openai_hint_keeps_the_clients_key_and_is_absent_when_caching_is_off():
    body = {"model": "gpt-4o", "messages": [], "prompt_cache_key": "client-key"}

    assert openai_upstream_body(body, cache_hints=HINTS)["prompt_cache_key"] == "client-key"
    assert "prompt_cache_key" not in openai_upstream_body({"model": "gpt-4o", "messages": []}, cache_hints=None)


@pytest.mark.parametrize(
    "cached_tokens, cache_write_tokens, expected_saving",
    [
        pytest.param(1_000_000, 0, 2.70, id="read only: 3.00 - 0.30 per million"),
        pytest.param(0, 1_000_000, -0.75, id="write only costs the 3.75 - 3.00 premium"),
        pytest.param(100_000, 20_000, 0.27 - 0.015, id="a growing chat turn"),
        pytest.param(0, 0, 0.0, id="no caching"),
    ],
)
def test_provider_cache_saving_with_anthropic_sonnet_prices(cached_tokens, cache_write_tokens, expected_saving):
    saving = provider_cache_saving_usd(
        cached_tokens=cached_tokens,
        cache_write_tokens=cache_write_tokens,
        input_price=3.00,
        cached_input_price=0.30,
        cache_write_price=3.75,
    )

    assert saving == pytest.approx(expected_saving)
