"""The Python frameworks against Optera, unchanged but for base URL, key and the provider-key header.

Run in their own virtualenv (var/clients, from tests/clients/requirements.txt) by
tests/clients/test_python_clients.py: `python python_clients.py <scenario>` prints one JSON object
of what the client saw; the test asserts on it.
"""

import asyncio
import json
import os
import sys

from pydantic import BaseModel, Field

BASE_URL = os.environ["OPTERA_BASE_URL"]
API_KEY = os.environ["OPTERA_API_KEY"]
HEADERS = {"X-Provider-Key": os.environ["OPTERA_PROVIDER_KEY"]}
QUESTION = os.environ.get("OPTERA_QUESTION", "What is the capital of France?")


class Weather(BaseModel):
    """The weather in a city over some days."""

    city: str = Field(description="the city")
    days: int = Field(ge=1, description="how many days ahead")


def chat_openai(**options):
    from langchain_openai import ChatOpenAI

    return ChatOpenAI(
        model="gpt-4o-mini", base_url=BASE_URL, api_key=API_KEY, default_headers=HEADERS, max_retries=0, **options
    )


def langchain_invoke():
    model = chat_openai()
    answer = model.invoke(QUESTION)
    batch = model.batch([f"{QUESTION} (1)", f"{QUESTION} (2)"])
    return {"text": answer.content, "usage": answer.usage_metadata, "batch": [message.content for message in batch]}


def langchain_stream():
    async def streamed(model):
        return [chunk async for chunk in model.astream(QUESTION)]

    chunks = asyncio.run(streamed(chat_openai(stream_usage=True)))
    usage = next((chunk.usage_metadata for chunk in chunks if chunk.usage_metadata), None)
    without = list(chat_openai().stream(f"{QUESTION} again"))
    return {
        "text": "".join(chunk.content for chunk in chunks),
        "usage": usage,
        "usage_without_stream_usage": next((chunk.usage_metadata for chunk in without if chunk.usage_metadata), None),
    }


def langchain_tools():
    message = chat_openai().bind_tools([Weather], tool_choice="required").invoke("Weather in Paris?")
    call = message.tool_calls[0]
    return {"name": call["name"], "arguments": call["args"]}


def langchain_structured():
    answers = {}
    for method in ("json_schema", "function_calling"):
        weather = chat_openai().with_structured_output(Weather, method=method).invoke("Weather in Paris?")
        answers[method] = weather.model_dump()
    return answers


def llamaindex():
    from llama_index.core.llms import ChatMessage
    from llama_index.llms.openai import OpenAI
    from llama_index.llms.openai_like import OpenAILike

    like = OpenAILike(
        model="claude-haiku-4-5",
        api_base=BASE_URL,
        api_key=API_KEY,
        default_headers=HEADERS,
        is_chat_model=True,
        max_retries=0,
    )
    openai_class = OpenAI(
        model="gpt-4o-mini", api_base=BASE_URL, api_key=API_KEY, default_headers=HEADERS, max_retries=0
    )
    refused = None
    try:
        OpenAI(model="claude-haiku-4-5", api_base=BASE_URL, api_key=API_KEY, default_headers=HEADERS).complete("hi")
    except ValueError as error:
        refused = str(error)
    return {
        "openai_like_chat": like.chat([ChatMessage(role="user", content=QUESTION)]).message.content,
        "openai_complete": openai_class.complete(QUESTION).text,
        "openai_stream": "".join(part.delta for part in openai_class.stream_complete(f"{QUESTION} streamed")),
        "openai_class_refuses_claude": refused,
    }


def anthropic_sdk():
    import anthropic

    client = anthropic.Anthropic(base_url=BASE_URL.removesuffix("/v1"), api_key=API_KEY, default_headers=HEADERS)
    request = dict(model="claude-haiku-4-5", max_tokens=200, messages=[{"role": "user", "content": QUESTION}])
    first = client.messages.with_raw_response.create(**request)
    second = client.messages.with_raw_response.create(**request)
    tool = {"name": "weather", "input_schema": Weather.model_json_schema()}
    with client.messages.stream(
        model="claude-haiku-4-5",
        max_tokens=200,
        messages=[{"role": "user", "content": "Weather in Paris?"}],
        tools=[tool],
        tool_choice={"type": "tool", "name": "weather"},
    ) as stream:
        streamed = stream.get_final_message()
    try:
        client.messages.create(model="claude-haiku-4-5", max_tokens=10, messages=[])
        error = None
    except anthropic.APIStatusError as refused:
        error = {"status": refused.status_code, "type": refused.body["error"]["type"]}
    return {
        "text": first.parse().content[0].text,
        "cache": [first.headers.get("x-optera-cache"), second.headers.get("x-optera-cache")],
        "same": first.parse().content == second.parse().content,
        "tool": {"name": streamed.content[0].name, "input": streamed.content[0].input},
        "error": error,
    }


SCENARIOS = {
    "langchain-invoke": langchain_invoke,
    "langchain-stream": langchain_stream,
    "langchain-tools": langchain_tools,
    "langchain-structured": langchain_structured,
    "llamaindex": llamaindex,
    "anthropic": anthropic_sdk,
}

if __name__ == "__main__":
    print(json.dumps(SCENARIOS[sys.argv[1]](), default=str))
