"""The official openai SDK through Optera to the fake OpenAI: plain, streamed, tools, errors."""

import openai
import pytest

from analytics.models import RequestLog
from tests.conftest import PROVIDER_KEY_CANARY, wait_for

pytestmark = [pytest.mark.django_db(transaction=True)]


def test_chat_completion_passes_through_with_headers(openai_client, fake, tenants):
    raw = openai_client.chat.completions.with_raw_response.create(
        model="gpt-4o-mini",
        messages=[{"role": "user", "content": "Hello there"}],
        temperature=0.2,
        extra_body={"some_future_field": {"kept": True}},
    )
    completion = raw.parse()
    assert completion.choices[0].message.content == "Echo: Hello there"
    assert raw.headers["x-optera-model"] == "gpt-4o-mini"
    assert raw.headers["x-optera-provider"] == "openai"
    assert raw.headers["x-optera-cache"] in ("bypass", "miss")
    assert raw.headers["x-optera-request-id"].startswith("req_")
    assert float(raw.headers["x-optera-overhead-ms"]) >= 0
    assert float(raw.headers["x-optera-cost-usd"]) > 0
    upstream = fake.last_request
    assert upstream.json["some_future_field"] == {"kept": True}
    assert upstream.json["temperature"] == 0.2
    assert upstream.headers["authorization"] == f"Bearer {PROVIDER_KEY_CANARY}"
    log = wait_for(lambda: RequestLog.objects.filter(request_id=raw.headers["x-optera-request-id"]).first())
    assert log.workspace_id == tenants.owner.workspace.pk
    assert log.prompt_tokens == completion.usage.prompt_tokens and log.completion_tokens > 0
    assert log.cost_usd > 0 and log.status_code == 200
    assert len(log.prompt_hash) == 64 and "Hello" not in log.prompt_hash


def test_stream_without_include_usage_hides_usage_but_records_it(openai_client, fake):
    stream = openai_client.chat.completions.create(
        model="gpt-4o", messages=[{"role": "user", "content": "tell me a story"}], stream=True
    )
    chunks = list(stream)
    assert "".join(chunk.choices[0].delta.content or "" for chunk in chunks if chunk.choices) == "Echo: tell me a story"
    assert all(chunk.usage is None for chunk in chunks)
    assert chunks[-1].choices[0].finish_reason == "stop"
    assert fake.last_request.json["stream_options"] == {"include_usage": True}
    log = wait_for(lambda: RequestLog.objects.filter(stream=True).first())
    assert log.prompt_tokens > 0 and log.completion_tokens > 0 and not log.usage_estimated and log.cost_usd > 0


def test_stream_with_include_usage_keeps_the_usage_chunk(openai_client, fake):
    stream = openai_client.chat.completions.create(
        model="gpt-4o",
        messages=[{"role": "user", "content": "count"}],
        stream=True,
        stream_options={"include_usage": True},
    )
    chunks = list(stream)
    assert chunks[-1].usage is not None and chunks[-1].usage.completion_tokens > 0


def test_tool_calls_round_trip(openai_client, fake):
    tools = [
        {
            "type": "function",
            "function": {
                "name": "lookup",
                "description": "find",
                "parameters": {"type": "object", "properties": {"query": {"type": "string"}}},
            },
        }
    ]
    completion = openai_client.chat.completions.create(
        model="gpt-4o", messages=[{"role": "user", "content": "weather in Oslo"}], tools=tools, tool_choice="required"
    )
    call = completion.choices[0].message.tool_calls[0]
    assert call.function.name == "lookup" and completion.choices[0].finish_reason == "tool_calls"
    stream = openai_client.chat.completions.create(
        model="gpt-4o",
        messages=[{"role": "user", "content": "weather in Oslo"}],
        tools=tools,
        tool_choice="required",
        stream=True,
    )
    arguments = "".join(
        chunk.choices[0].delta.tool_calls[0].function.arguments or ""
        for chunk in stream
        if chunk.choices and chunk.choices[0].delta.tool_calls
    )
    assert arguments == call.function.arguments


@pytest.mark.asyncio
async def test_async_client_streams(optera_server, tenants, fake):
    client = openai.AsyncOpenAI(
        base_url=optera_server.v1,
        api_key=tenants.member.api_key,
        default_headers={"X-Provider-Key": PROVIDER_KEY_CANARY},
        max_retries=0,
    )
    stream = await client.chat.completions.create(
        model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}], stream=True
    )
    text = "".join([chunk.choices[0].delta.content or "" async for chunk in stream if chunk.choices])
    assert text == "Echo: hi"
    await client.close()


def test_embeddings_and_models(openai_client, fake):
    result = openai_client.embeddings.create(model="text-embedding-3-small", input=["a", "b"])
    assert len(result.data) == 2 and result.usage.prompt_tokens > 0
    model_ids = {model.id for model in openai_client.models.list()}
    assert {"gpt-4o", "claude-sonnet-4-5", "optera/auto"} <= model_ids


def test_optera_key_in_its_own_header_with_provider_key_in_authorization(optera_server, tenants, fake):
    client = openai.OpenAI(
        base_url=optera_server.v1,
        api_key=PROVIDER_KEY_CANARY,
        default_headers={"X-Optera-Key": tenants.owner.api_key},
        max_retries=0,
    )
    completion = client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "x"}])
    assert completion.choices[0].message.content == "Echo: x"
    assert fake.last_request.headers["authorization"] == f"Bearer {PROVIDER_KEY_CANARY}"
