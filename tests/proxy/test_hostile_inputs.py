"""Bodies and answers PostgreSQL or a recursive walk cannot take: refused with a 400, or served and not stored."""

import httpx
import orjson
import pytest

from analytics.models import RequestLog
from cachestore.models import CacheEntry
from tests.conftest import PROVIDER_KEY_CANARY, wait_for
from tests.fakeprovider import Fault

pytestmark = pytest.mark.django_db(transaction=True)


def post(server, key, body):
    headers = {"Authorization": f"Bearer {key}", "X-Provider-Key": PROVIDER_KEY_CANARY}
    return httpx.post(f"{server.v1}/chat/completions", content=body, headers=headers, timeout=10)


def nested(depth):
    """A chat request whose `metadata` nests `depth` arrays deep."""
    return b'{"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}], "metadata": %s}' % (
        b"[" * depth + b"]" * depth
    )


@pytest.mark.parametrize("depth", [300, 100_000])
def test_a_body_nested_too_deep_is_400_and_never_forwarded(optera_server, tenants, fake, depth):
    response = post(optera_server, tenants.owner.api_key, nested(depth))
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["code"] == "invalid_json" and "nested more than 64 levels" in error["message"]
    assert fake.requests == []


def test_nesting_within_the_limit_is_accepted(optera_server, tenants, fake):
    # Tool schemas nest a dozen levels; the limit leaves room for them.
    body = orjson.loads(nested(40))
    body.pop("metadata")
    body["tools"] = [{"type": "function", "function": {"name": "f", "parameters": _schema_nested(20)}}]
    response = post(optera_server, tenants.owner.api_key, orjson.dumps(body))
    assert response.status_code == 200, response.text


def _schema_nested(depth):
    schema = {"type": "string"}
    for _ in range(depth):
        schema = {"type": "object", "properties": {"inner": schema}}
    return schema


@pytest.mark.parametrize(
    "body",
    [
        b'{"model": "gpt-4o", "messages": [{"role": "user", "content": "a\\u0000b"}]}',
        b'{"model": "gpt-4o", "messages": [{"role": "user", "content": "x"}], "user": "\\u0000"}',
        b'{"model": "gpt-4o", "messages": [{"role": "user", "content": "x", "name\\u0000": "n"}]}',
    ],
)
def test_a_nul_character_is_400_and_the_next_request_is_still_logged(optera_server, tenants, fake, body):
    response = post(optera_server, tenants.owner.api_key, body)
    assert response.status_code == 400, response.text
    assert "NUL" in response.json()["error"]["message"]
    assert fake.requests == []
    fine = post(
        optera_server, tenants.owner.api_key, b'{"model": "gpt-4o", "messages": [{"role": "user", "content": "x"}]}'
    )
    assert fine.status_code == 200
    wait_for(lambda: RequestLog.objects.filter(status_code=200).exists())


def test_an_escaped_backslash_before_u0000_is_not_a_nul(optera_server, tenants, fake):
    # The text is a backslash followed by "u0000": harmless, and must not be refused.
    body = b'{"model": "gpt-4o", "messages": [{"role": "user", "content": "path \\\\u0000"}]}'
    response = post(optera_server, tenants.owner.api_key, body)
    assert response.status_code == 200, response.text


def test_a_provider_answer_holding_nul_is_served_not_stored_and_the_semantic_cache_stays_on(openai_client, fake):
    fake.enqueue(Fault(path="/v1/chat/completions", answer_text="before\x00after"))
    first = openai_client.chat.completions.with_raw_response.create(
        model="gpt-4o-mini", messages=[{"role": "user", "content": "Give me a NUL"}]
    )
    assert first.parse().choices[0].message.content == "before\x00after"
    wait_for(lambda: RequestLog.objects.count() == 1)
    assert not CacheEntry.objects.exists()
    # Storing it used to fail the vector write, which switched the semantic cache off for the process.
    ask = openai_client.chat.completions.with_raw_response.create
    assert (
        ask(model="gpt-4o-mini", messages=[{"role": "user", "content": "How do I reset my password?"}]).headers[
            "x-optera-cache"
        ]
        == "miss"
    )
    wait_for(lambda: CacheEntry.objects.filter(fingerprint__isnull=False).exists(), timeout=15)
    paraphrase = ask(model="gpt-4o-mini", messages=[{"role": "user", "content": "how do i reset my password"}])
    assert paraphrase.headers["x-optera-cache"] == "semantic"
