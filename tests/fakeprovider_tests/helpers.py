"""Constants and request helpers shared by the fake provider's tests."""

import http.client
import json
import time

# Sonnet caches prompts from 1,024 tokens; Haiku 4.5 only from 4,096 (a test checks that minimum).
ANTHROPIC_MODEL = "claude-sonnet-4-6"
OPENAI_MODEL = "gpt-4o-mini"
QUERY_SCHEMA = {"type": "object", "properties": {"query": {"type": "string"}}}
SEARCH_TOOL_OPENAI = {"type": "function", "function": {"name": "search", "parameters": QUERY_SCHEMA}}
SEARCH_TOOL_ANTHROPIC = {"name": "search", "description": "Search the docs.", "input_schema": QUERY_SCHEMA}
# About 2,500 estimated tokens: over the 1,024-token minimum both providers cache from.
LONG_SYSTEM_PROMPT = "You are a careful assistant who answers questions about invoices. " * 150


def latest_usage(fake, timeout=5.0):
    """Return the newest usage record; a stream's is written after its last chunk, so wait for it."""
    deadline = time.monotonic() + timeout
    while not fake.usages and time.monotonic() < deadline:
        time.sleep(0.01)
    return fake.usages[-1]


def chat(client, content, **options):
    """Ask the OpenAI SDK for a chat completion of one user message."""
    return client.chat.completions.create(
        model=OPENAI_MODEL, messages=[{"role": "user", "content": content}], **options
    )


def message(client, content, max_tokens=100, **options):
    """Ask the Anthropic SDK for a message answering one user message."""
    return client.messages.create(
        model=ANTHROPIC_MODEL, max_tokens=max_tokens, messages=[{"role": "user", "content": content}], **options
    )


def raw_request(fake, method, path, body=None, headers=None):
    """Send one request over a fresh connection; return (status, headers, body bytes)."""
    connection = http.client.HTTPConnection("127.0.0.1", fake.port, timeout=5)
    try:
        payload = json.dumps(body).encode() if body is not None else None
        connection.request(method, path, body=payload, headers={"Content-Type": "application/json", **(headers or {})})
        response = connection.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        connection.close()
