"""Canary values travel every path; none may land in a database row, a log line or a response body."""

import io
import logging
import secrets
from datetime import timedelta

import httpx
import openai
import pytest
from django.core.management import call_command
from django.db import connection
from django.utils import timezone

from accounts.data_inventory import REDIS_KEYS
from accounts.keys import workspace_hash_key
from accounts.models import Workspace
from analytics.models import RequestLog
from cachestore import keys
from cachestore.models import CacheEntry, CompressedPrompt
from cachestore.semantic.fingerprint import Fingerprint, fingerprint
from optera.clients import BATCH, redis_client
from tests.conftest import PROVIDER_KEY_CANARY, wait_for
from tests.fakeprovider import Fault

pytestmark = [pytest.mark.django_db(transaction=True)]


def every_row_as_text():
    """Return every row of every table in the database as text (Django's tables and the broker's)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT schemaname, tablename FROM pg_tables WHERE schemaname NOT IN ('pg_catalog', 'information_schema')"
        )
        tables = cursor.fetchall()
        dump = []
        for schema, table in tables:
            cursor.execute(f'SELECT t::text FROM "{schema}"."{table}" t')
            dump.extend(row[0] for row in cursor.fetchall())
    return "\n".join(dump)


def every_redis_key_and_value():
    """Return every key in Redis and every value under it as text (the hot tier, counters, the broker's queues)."""
    client = redis_client(BATCH)
    if client is None:
        return ""
    readers = {
        b"string": client.get,
        b"hash": client.hgetall,
        b"list": lambda key: client.lrange(key, 0, -1),
        b"set": client.smembers,
        b"zset": lambda key: client.zrange(key, 0, -1),
        b"stream": lambda key: client.xrange(key),
    }
    dump = []
    try:
        for key in client.scan_iter(match="*", count=1000):
            assert key.decode().startswith(tuple(REDIS_KEYS)), f"{key!r} is not declared in accounts.data_inventory"
            dump.append(f"{key.decode(errors='replace')} {readers[client.type(key)](key)!r}")
    finally:
        client.close()
    return "\n".join(dump)


def test_canaries_reach_no_row_log_or_response(optera_server, tenants, fake, caplog, capfd):
    caplog.set_level(logging.DEBUG)
    prompt_canary = f"canary prompt {secrets.token_hex(8)}"
    headers = {"X-Provider-Key": PROVIDER_KEY_CANARY}
    client = openai.OpenAI(
        base_url=optera_server.v1, api_key=tenants.owner.api_key, max_retries=0, default_headers=headers
    )
    # The fake provider echoes the last user message into its answer, and answers are what the cache
    # stores, so the canary rides in every other place a prompt can carry text.
    messages = [
        {"role": "system", "content": prompt_canary},
        {"role": "user", "content": prompt_canary},
        {"role": "assistant", "content": "Noted."},
        {"role": "user", "content": "And then?"},
    ]
    bodies = []
    # Success, streamed and not, both providers.
    client.chat.completions.create(model="gpt-4o-mini", messages=messages)
    list(client.chat.completions.create(model="claude-haiku-4-5", messages=messages, stream=True))
    # Upstream errors, retries, a drop mid-stream, a 429.
    fake.enqueue(Fault(path="/v1/chat/completions", status=500), Fault(path="/v1/chat/completions", status=401))
    with pytest.raises(openai.APIError):
        client.chat.completions.create(model="gpt-4o", messages=messages)
    fake.enqueue(Fault(path="/v1/chat/completions", drop_after_chunks=2))
    with pytest.raises(openai.APIError):
        list(client.chat.completions.create(model="gpt-4o", messages=messages, stream=True))
    fake.enqueue(Fault(path="/v1/messages", status=429, headers={"Retry-After": "100"}))
    with pytest.raises(openai.RateLimitError):
        client.chat.completions.create(model="claude-sonnet-4-5", messages=messages)
    # Our own refusals: unknown model, bad JSON, a wrong Optera key, a missing provider key.
    for body, key in [
        ({"model": "nope-1", "messages": messages}, tenants.owner.api_key),
        ({"model": "gpt-4o", "messages": messages}, "opt_0123456789abcdef_" + "z" * 43),
    ]:
        bodies.append(
            httpx.post(
                f"{optera_server.v1}/chat/completions", json=body, headers={"Authorization": f"Bearer {key}", **headers}
            ).text
        )
    bodies.append(
        httpx.post(
            f"{optera_server.v1}/chat/completions",
            content=b'{"model": "' + prompt_canary.encode(),
            headers={"Authorization": f"Bearer {tenants.owner.api_key}", **headers},
        ).text
    )
    bodies.append(
        httpx.post(
            f"{optera_server.v1}/chat/completions",
            json={"model": "gpt-4o", "messages": messages},
            headers={"Authorization": f"Bearer {PROVIDER_KEY_CANARY}"},
        ).text
    )
    # A long system prompt compression cannot shorten, with the canary in it: only a text-less marker may stay.
    tidy = " ".join(f"Rule {index} of the house style names {prompt_canary} once." for index in range(40))[:2000]
    client.chat.completions.create(
        model="gpt-4o-mini", messages=[{"role": "system", "content": tidy}, {"role": "user", "content": "Hello?"}]
    )
    wait_for(lambda: RequestLog.objects.count() >= 7 and CompressedPrompt.objects.exists())
    # Every sweep, now and as if past every period: what they leave, and what they do, must be clean too.
    call_command("sweep", stdout=io.StringIO())
    call_command("sweep", "--as-of", (timezone.now() + timedelta(days=400)).isoformat(), stdout=io.StringIO())
    stored = every_row_as_text() + every_redis_key_and_value()
    captured = capfd.readouterr()
    logged = (
        "\n".join(record.getMessage() + str(record.args) for record in caplog.records) + captured.out + captured.err
    )
    for canary in (PROVIDER_KEY_CANARY, prompt_canary, tenants.owner.api_key):
        assert canary not in stored
        assert canary not in logged
        for body in bodies:
            assert canary not in body


def test_a_dump_with_the_workspace_secret_does_not_reveal_a_prompts_words(openai_client, tenants):
    # The attack found in review: read a semantic fingerprint and the workspace's secret from a
    # dump, hash a word list under that secret, and read the prompt back word by word.
    prompt = "can patient maria lopez take ibuprofen with warfarin after her knee surgery"
    openai_client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": prompt}])
    wait_for(lambda: CacheEntry.objects.filter(fingerprint__isnull=False).exists())
    entry = CacheEntry.objects.get()
    stored = Fingerprint.from_json(entry.fingerprint)
    dumped_secret = Workspace.objects.get(pk=tenants.owner.workspace.pk).cache_secret
    word_list = prompt.split() + ["aspirin", "patient", "surgery", "the", "a"]

    def recovered(secret):
        guesses = {word: fingerprint(word, secret=secret).tokens for word in word_list}
        return {word for word, tokens in guesses.items() if tokens and set(tokens) <= set(stored.tokens)}

    assert recovered(dumped_secret.encode()) == set()
    body = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": prompt}]}

    def exact_key(secret):
        return keys.exact_key(secret=secret, endpoint="chat", provider="openai", model="gpt-4o-mini", body=body)

    assert entry.key_hash != exact_key(dumped_secret)
    assert entry.key_hash == exact_key(workspace_hash_key(dumped_secret))
    # The same attack with the server's SECRET_KEY as well (which no dump holds) does find them:
    # the check above is not passing because the fingerprint holds nothing to find.
    assert {"maria", "lopez", "ibuprofen", "warfarin"} <= recovered(workspace_hash_key(dumped_secret).encode())
