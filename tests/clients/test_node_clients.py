"""Node's `openai` and the Vercel AI SDK against Optera, unchanged but for base URL, key and provider-key header.

The packages are pinned in tests/clients/package-lock.json and installed by `make test` (npm ci).
"""

import json

import pytest

from analytics.models import RequestLog
from tests.clients.runner import NODE, run_client
from tests.conftest import wait_for

pytestmark = [pytest.mark.django_db(transaction=True)]


def run(scenario, optera_server, tenants, *, question=None):
    return run_client(NODE, scenario, optera_server, tenants, question=question)


def test_openai_node_chat_streams_with_usage_and_claude(optera_server, tenants, fake):
    chat = run("openai-chat", optera_server, tenants)
    assert chat["text"] == "Echo: What is the capital of France?" and chat["usage"]["prompt_tokens"] > 0
    assert chat["cache"] == "miss"
    streamed = run("openai-stream", optera_server, tenants, question="Name a river.")
    assert streamed["text"] == "Echo: Name a river." and streamed["usage"]["completion_tokens"] > 0
    claude = run("openai-claude", optera_server, tenants, question="Name a sea.")
    assert claude["text"] == "Echo: Name a sea." and claude["model"].startswith("claude-haiku-4-5")


def test_openai_node_tools_streamed_tools_and_errors(optera_server, tenants, fake):
    tools = run("openai-tools", optera_server, tenants)
    assert tools["name"] == "weather" and set(tools["arguments"]) == {"city", "days"}
    assert json.loads(tools["streamedArguments"]) == tools["arguments"]
    error = run("openai-error", optera_server, tenants)
    assert error["isApiError"] and error["status"] in (400, 404)


def test_openai_node_responses_api_served_twice_is_a_hit(optera_server, tenants, fake):
    first = run("openai-responses", optera_server, tenants, question="What is a mutex?")
    wait_for(lambda: RequestLog.objects.filter(endpoint__contains="responses").exists())
    second = run("openai-responses", optera_server, tenants, question="What is a mutex?")
    assert first["text"] == second["text"] == "Echo: What is a mutex?"
    assert (first["cache"], second["cache"]) == ("miss", "hit")


def test_ai_sdk_generate_text_on_the_default_responses_path_is_a_hit_the_second_time(optera_server, tenants, fake):
    first = run("ai-generate", optera_server, tenants, question="What is a semaphore?")
    wait_for(lambda: RequestLog.objects.exists())
    second = run("ai-generate", optera_server, tenants, question="What is a semaphore?")
    assert first["text"] == second["text"] == "Echo: What is a semaphore?"
    assert (first["cache"], second["cache"]) == ("miss", "hit")
    assert first["usage"]["inputTokens"] > 0
    assert fake.requests[0].path == "/v1/responses" and len(fake.requests) == 1


def test_ai_sdk_chat_model_stream_text_and_tools(optera_server, tenants, fake):
    chat = run("ai-generate-chat", optera_server, tenants, question="Name a lake.")
    assert chat["text"] == "Echo: Name a lake." and chat["cache"] == "miss"
    for scenario in ("ai-stream", "ai-stream-chat"):
        streamed = run(scenario, optera_server, tenants, question=f"Name a mountain ({scenario}).")
        assert streamed["text"] == f"Echo: Name a mountain ({scenario})." and streamed["usage"]["outputTokens"] > 0
    tools = run("ai-tools", optera_server, tenants)
    assert tools["name"] == "weather" and set(tools["arguments"]) == {"city", "days"}
