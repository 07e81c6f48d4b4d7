"""LangChain, LlamaIndex and the anthropic SDK against Optera, unchanged but for base URL, key and provider-key header.

They run in their own virtualenv (var/clients, pinned by tests/clients/requirements.txt, made by
`make test-tools`), as in a user's application: LlamaIndex pins openai<3, Optera's own is newer.
"""

import pytest

from cachestore.models import CacheEntry
from tests.clients.runner import PYTHON, run_client
from tests.conftest import wait_for

pytestmark = [pytest.mark.django_db(transaction=True)]


def run(scenario, optera_server, tenants, *, question=None):
    return run_client(PYTHON, scenario, optera_server, tenants, question=question)


def test_langchain_invoke_batch_and_stream_with_usage(optera_server, tenants, fake):
    invoked = run("langchain-invoke", optera_server, tenants)
    assert invoked["text"] == "Echo: What is the capital of France?" and invoked["usage"]["input_tokens"] > 0
    assert invoked["batch"] == ["Echo: What is the capital of France? (1)", "Echo: What is the capital of France? (2)"]
    streamed = run("langchain-stream", optera_server, tenants, question="Name a river.")
    assert streamed["text"] == "Echo: Name a river." and streamed["usage"]["output_tokens"] > 0
    # LangChain asks for stream usage only with stream_usage=True (the README says so).
    assert streamed["usage_without_stream_usage"] is None


def test_langchain_tool_binding_and_structured_output(optera_server, tenants, fake):
    tools = run("langchain-tools", optera_server, tenants)
    assert tools["name"] == "Weather" and set(tools["arguments"]) == {"city", "days"}
    structured = run("langchain-structured", optera_server, tenants)
    for method in ("json_schema", "function_calling"):
        assert set(structured[method]) == {"city", "days"} and structured[method]["days"] >= 1


def test_llamaindex_openai_like_and_openai(optera_server, tenants, fake):
    answers = run("llamaindex", optera_server, tenants)
    assert answers["openai_like_chat"] == "Echo: What is the capital of France?"
    assert answers["openai_complete"] == "Echo: What is the capital of France?"
    assert answers["openai_stream"] == "Echo: What is the capital of France? streamed"
    # LlamaIndex's OpenAI class checks model names itself, before sending (the README says to use OpenAILike).
    assert "Unknown model" in answers["openai_class_refuses_claude"]


def test_the_anthropic_sdk_streams_tools_and_its_repeated_request_is_a_hit(optera_server, tenants, fake):
    seen = run("anthropic", optera_server, tenants, question="What is a monad?")
    assert seen["text"] == "Echo: What is a monad?" and seen["same"]
    assert seen["cache"] == ["miss", "hit"]
    assert seen["tool"]["name"] == "weather" and set(seen["tool"]["input"]) == {"city", "days"}
    assert seen["error"] == {"status": 400, "type": "invalid_request_error"}  # in Anthropic's error shape
    wait_for(lambda: CacheEntry.objects.filter(kind="messages").exists())
