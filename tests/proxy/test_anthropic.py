"""Claude through the OpenAI surface (translated) and through /v1/messages (native), with the official SDKs."""

import json

import anthropic
import httpx
import pytest

from analytics.models import RequestLog
from tests.conftest import PROVIDER_KEY_CANARY, wait_for

pytestmark = [pytest.mark.django_db(transaction=True)]
TOOLS = [
    {
        "type": "function",
        "function": {
            "name": "lookup",
            "description": "find a thing",
            "parameters": {"type": "object", "properties": {"query": {"type": "string"}}},
        },
    }
]


def test_claude_via_openai_sdk(openai_client, fake):
    raw = openai_client.chat.completions.with_raw_response.create(
        model="claude-sonnet-4-5",
        messages=[{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hello Claude"}],
        max_tokens=100,
    )
    completion = raw.parse()
    assert completion.choices[0].message.content == "Echo: Hello Claude"
    assert completion.choices[0].finish_reason == "stop"
    assert raw.headers["x-optera-provider"] == "anthropic"
    upstream = fake.last_request
    assert upstream.path == "/v1/messages"
    assert upstream.headers["x-api-key"] == PROVIDER_KEY_CANARY
    assert upstream.json["system"][0]["text"] == "Be brief."
    assert upstream.json["max_tokens"] == 100


def test_claude_stream_via_openai_sdk_with_usage(openai_client, fake):
    stream = openai_client.chat.completions.create(
        model="anthropic/claude-haiku-4-5",
        messages=[{"role": "user", "content": "stream this please"}],
        stream=True,
        stream_options={"include_usage": True},
    )
    chunks = list(stream)
    text = "".join(chunk.choices[0].delta.content or "" for chunk in chunks if chunk.choices)
    assert text == "Echo: stream this please"
    assert chunks[-1].usage.prompt_tokens > 0
    log = wait_for(lambda: RequestLog.objects.filter(provider="anthropic", stream=True).first())
    assert log.completion_tokens > 0 and log.cost_usd > 0


def test_claude_tool_calls_streamed_and_not(openai_client, fake):
    completion = openai_client.chat.completions.create(
        model="claude-sonnet-4-5",
        messages=[{"role": "user", "content": "find Oslo"}],
        tools=TOOLS,
        tool_choice={"type": "function", "function": {"name": "lookup"}},
    )
    call = completion.choices[0].message.tool_calls[0]
    assert call.function.name == "lookup" and completion.choices[0].finish_reason == "tool_calls"
    assert fake.last_request.json["tool_choice"] == {"type": "tool", "name": "lookup"}
    stream = openai_client.chat.completions.create(
        model="claude-sonnet-4-5",
        messages=[{"role": "user", "content": "find Oslo"}],
        tools=TOOLS,
        tool_choice="required",
        stream=True,
    )
    deltas = [chunk.choices[0].delta for chunk in stream if chunk.choices and chunk.choices[0].delta.tool_calls]
    assert deltas[0].tool_calls[0].function.name == "lookup"
    streamed_arguments = "".join(delta.tool_calls[0].function.arguments or "" for delta in deltas)
    assert json.loads(streamed_arguments) == json.loads(call.function.arguments)
    # The tool result goes back translated into a tool_result block.
    follow_up = openai_client.chat.completions.create(
        model="claude-sonnet-4-5",
        messages=[
            {"role": "user", "content": "find Oslo"},
            {"role": "assistant", "content": None, "tool_calls": [call.model_dump()]},
            {"role": "tool", "tool_call_id": call.id, "content": "Oslo is in Norway"},
        ],
        tools=TOOLS,
    )
    assert follow_up.choices[0].message.content
    blocks = fake.last_request.json["messages"][-1]["content"]
    assert blocks[0]["type"] == "tool_result" and blocks[0]["content"] in (
        "Oslo is in Norway",
        [{"type": "text", "text": "Oslo is in Norway"}],
    )


def anthropic_client(server, tenants):
    return anthropic.Anthropic(
        base_url=server.url,
        api_key=PROVIDER_KEY_CANARY,
        default_headers={"X-Optera-Key": tenants.owner.api_key},
        max_retries=0,
    )


def test_native_messages_with_anthropic_sdk(optera_server, tenants, fake):
    client = anthropic_client(optera_server, tenants)
    message = client.messages.create(
        model="claude-sonnet-4-5", max_tokens=50, messages=[{"role": "user", "content": "native hello"}]
    )
    assert message.content[0].text == "Echo: native hello"
    assert fake.last_request.headers["x-api-key"] == PROVIDER_KEY_CANARY
    with client.messages.stream(
        model="claude-sonnet-4-5", max_tokens=50, messages=[{"role": "user", "content": "native stream"}]
    ) as stream:
        text = "".join(stream.text_stream)
        final = stream.get_final_message()
    assert text == "Echo: native stream" and final.usage.output_tokens > 0
    log = wait_for(lambda: RequestLog.objects.filter(endpoint="messages", stream=True).first())
    assert log.prompt_tokens > 0 and log.completion_tokens > 0


def test_native_messages_errors_use_anthropic_shape(optera_server, tenants, fake):
    response = httpx.post(
        f"{optera_server.url}/v1/messages",
        content=b"{broken",
        headers={"X-Optera-Key": tenants.owner.api_key, "x-api-key": PROVIDER_KEY_CANARY},
    )
    assert response.status_code == 400
    body = response.json()
    assert body["type"] == "error" and body["error"]["type"] == "invalid_request_error"
    client = anthropic.Anthropic(
        base_url=optera_server.url,
        api_key=PROVIDER_KEY_CANARY,
        default_headers={"X-Optera-Key": "opt_0123456789abcdef_" + "y" * 43},
        max_retries=0,
    )
    with pytest.raises(anthropic.AuthenticationError):
        client.messages.create(model="claude-sonnet-4-5", max_tokens=5, messages=[{"role": "user", "content": "x"}])


def test_a_repeated_native_request_is_a_cache_hit_whole_or_streamed(optera_server, tenants, fake):
    client = anthropic_client(optera_server, tenants)
    question = {"model": "claude-sonnet-4-5", "max_tokens": 50, "messages": [{"role": "user", "content": "cache me"}]}
    first = client.messages.with_raw_response.create(**question)
    second = client.messages.with_raw_response.create(**question)
    assert first.headers["x-optera-cache"] == "miss" and second.headers["x-optera-cache"] == "hit"
    assert second.parse().content[0].text == first.parse().content[0].text == "Echo: cache me"
    assert float(second.headers["x-optera-saved-usd"]) > 0
    upstream_calls = len(fake.requests)

    # The stored answer replays as Anthropic's own stream, which the SDK assembles unchanged.
    with client.messages.stream(**question) as stream:
        text = "".join(stream.text_stream)
        final = stream.get_final_message()
    assert text == "Echo: cache me" and final.stop_reason == "end_turn" and final.usage.output_tokens > 0
    assert len(fake.requests) == upstream_calls

    # A streamed answer is stored too: its repeat, whole, comes from the cache.
    streamed = {**question, "messages": [{"role": "user", "content": "stream then repeat"}]}
    with client.messages.stream(**streamed) as stream:
        assert "".join(stream.text_stream) == "Echo: stream then repeat"
    repeat = client.messages.with_raw_response.create(**streamed)
    assert repeat.headers["x-optera-cache"] == "hit" and repeat.parse().content[0].text == "Echo: stream then repeat"
    assert len(fake.requests) == upstream_calls + 1
    assert wait_for(lambda: native_cache_statuses(5)) == ["miss", "hit", "hit", "miss", "hit"]


def native_cache_statuses(count):
    logs = RequestLog.objects.filter(endpoint="messages").order_by("id")
    statuses = list(logs.values_list("cache_status", flat=True))
    return statuses if len(statuses) == count else None


def test_a_native_answer_is_never_served_to_a_chat_completion_or_back(openai_client, optera_server, tenants, fake):
    client = anthropic_client(optera_server, tenants)
    client.messages.create(
        model="claude-sonnet-4-5", max_tokens=50, messages=[{"role": "user", "content": "same text"}]
    )
    chat = openai_client.chat.completions.with_raw_response.create(
        model="claude-sonnet-4-5", max_tokens=50, messages=[{"role": "user", "content": "same text"}]
    )
    assert chat.headers["x-optera-cache"] == "miss" and chat.parse().choices[0].message.content == "Echo: same text"


def test_count_tokens_is_passed_through_with_the_anthropic_sdk(optera_server, tenants, fake):
    client = anthropic_client(optera_server, tenants)
    counted = client.messages.count_tokens(
        model="claude-sonnet-4-5", messages=[{"role": "user", "content": "how many tokens is this question?"}]
    )
    assert counted.input_tokens > 0
    assert fake.last_request.path == "/v1/messages/count_tokens"
    assert fake.last_request.headers["x-api-key"] == PROVIDER_KEY_CANARY
    log = wait_for(lambda: RequestLog.objects.filter(endpoint="messages.count_tokens").first())
    assert log.status_code == 200 and log.cost_usd == 0
    with pytest.raises(anthropic.BadRequestError) as refused:
        client.messages.count_tokens(model="gpt-4o-mini", messages=[{"role": "user", "content": "x"}])
    assert "Claude models" in refused.value.message


def test_unknown_anthropic_paths_answer_in_anthropic_s_shape(optera_server, tenants):
    response = httpx.post(
        f"{optera_server.url}/v1/messages/batches",
        json={},
        headers={"X-Optera-Key": tenants.owner.api_key, "x-api-key": PROVIDER_KEY_CANARY},
    )
    assert response.status_code == 404
    assert response.json()["type"] == "error" and response.json()["error"]["type"] == "not_found_error"


def test_untranslatable_request_is_400(openai_client, fake):
    import openai

    with pytest.raises(openai.BadRequestError):
        openai_client.chat.completions.create(
            model="claude-sonnet-4-5", n=2, messages=[{"role": "user", "content": "two answers"}]
        )
    assert fake.requests == []
