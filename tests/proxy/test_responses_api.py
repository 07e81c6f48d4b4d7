"""POST /v1/responses with the official openai SDK: passed through to OpenAI, accounted, and cached."""

import json

import httpx
import openai
import pytest

from analytics.models import RequestLog
from cachestore.models import CacheEntry
from tests.conftest import PROVIDER_KEY_CANARY, wait_for

pytestmark = [pytest.mark.django_db(transaction=True)]


def logged(count):
    logs = list(RequestLog.objects.filter(endpoint="responses").order_by("id"))
    return logs if len(logs) == count else None


def test_a_response_whole_then_repeated_is_served_from_the_cache(openai_client, fake):
    first = openai_client.responses.with_raw_response.create(model="gpt-4o-mini", input="What is a cost proxy?")
    second = openai_client.responses.with_raw_response.create(model="gpt-4o-mini", input="What is a cost proxy?")

    assert first.parse().output_text == second.parse().output_text == "Echo: What is a cost proxy?"
    assert first.headers["x-optera-cache"] == "miss" and second.headers["x-optera-cache"] == "hit"
    assert float(first.headers["x-optera-cost-usd"]) > 0 and float(second.headers["x-optera-saved-usd"]) > 0
    assert len(fake.requests) == 1 and fake.last_request.path == "/v1/responses"
    assert fake.last_request.headers["authorization"] == f"Bearer {PROVIDER_KEY_CANARY}"
    miss, hit = wait_for(lambda: logged(2))
    assert miss.prompt_tokens > 0 and miss.completion_tokens > 0 and miss.cost_usd > 0
    assert hit.cache_status == "hit" and hit.cost_usd == 0 and hit.saved_usd == miss.cost_usd


def test_a_streamed_response_is_relayed_stored_and_replayed_as_typed_events(openai_client, fake):
    question = [{"role": "user", "content": [{"type": "input_text", "text": "stream the answer"}]}]
    with openai_client.responses.stream(model="gpt-4o-mini", input=question, instructions="Be brief.") as stream:
        deltas = [event.delta for event in stream if event.type == "response.output_text.delta"]
        final = stream.get_final_response()
    assert "".join(deltas) == final.output_text == "Echo: stream the answer"

    # The streamed answer was stored: the same request, whole or streamed, comes from the cache.
    again = openai_client.responses.create(model="gpt-4o-mini", input=question, instructions="Be brief.")
    with openai_client.responses.stream(model="gpt-4o-mini", input=question, instructions="Be brief.") as stream:
        kinds = [event.type for event in stream]
        replayed = stream.get_final_response()
    assert again.output_text == replayed.output_text == "Echo: stream the answer"
    assert kinds[0] == "response.created" and kinds[-1] == "response.completed"
    assert "response.output_text.delta" in kinds and len(fake.requests) == 1
    assert [log.cache_status for log in wait_for(lambda: logged(3))] == ["miss", "hit", "hit"]


def test_function_calls_and_their_outputs_pass_through(openai_client, fake):
    tools = [
        {
            "type": "function",
            "name": "lookup",
            "description": "Look something up",
            "parameters": {"type": "object", "properties": {"query": {"type": "string"}}, "required": ["query"]},
        }
    ]
    called = openai_client.responses.create(model="gpt-4o-mini", input="please use the tool for Oslo", tools=tools)
    call = called.output[0]
    assert call.type == "function_call" and call.name == "lookup" and json.loads(call.arguments)["query"]
    answered = openai_client.responses.create(
        model="gpt-4o-mini",
        tools=tools,
        input=[
            {"role": "user", "content": "please use the tool for Oslo"},
            {"type": "function_call", "call_id": call.call_id, "name": "lookup", "arguments": call.arguments},
            {"type": "function_call_output", "call_id": call.call_id, "output": "Oslo is in Norway"},
        ],
    )
    assert answered.output_text == "Echo: Oslo is in Norway"


def test_a_paraphrase_is_a_semantic_hit_unless_it_continues_a_stored_response(openai_client, fake):
    asked = {"model": "gpt-4o-mini", "instructions": "You answer account questions."}
    openai_client.responses.create(**asked, input="How do I reset my password?")
    # The answer is embedded and stored in the background.
    wait_for(lambda: CacheEntry.objects.filter(kind="responses", fingerprint__isnull=False).exists(), timeout=15)
    paraphrase = openai_client.responses.with_raw_response.create(**asked, input="how do i reset my password")
    assert paraphrase.headers["x-optera-cache"] == "semantic"
    assert paraphrase.parse().output_text == "Echo: How do I reset my password?"

    continued = openai_client.responses.with_raw_response.create(
        **asked, input="how do i reset my password", previous_response_id="resp_earlier"
    )
    assert continued.headers["x-optera-cache"] == "miss"


def test_claude_and_bad_bodies_get_clear_errors_in_openai_s_shape(openai_client, optera_server, tenants, fake):
    with pytest.raises(openai.BadRequestError) as refused:
        openai_client.responses.create(model="claude-sonnet-4-5", input="hello")
    assert refused.value.code == "model_not_supported" and "/v1/chat/completions" in refused.value.message
    with pytest.raises(openai.BadRequestError) as bad:
        openai_client.responses.create(model="gpt-4o-mini", input=[])
    assert bad.value.param == "input"
    stored = httpx.get(
        f"{optera_server.v1}/responses/resp_123", headers={"Authorization": f"Bearer {tenants.owner.api_key}"}
    )
    assert stored.status_code == 404 and "at OpenAI" in stored.json()["error"]["message"]
    assert len(fake.requests) == 0
