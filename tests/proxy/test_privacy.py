"""Canary values travel every path; none may land in a database row, a log line or a response body."""

import logging
import secrets

import httpx
import openai
import pytest
from django.db import connection

from analytics.models import RequestLog
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
    wait_for(lambda: RequestLog.objects.count() >= 6)
    stored = every_row_as_text()
    captured = capfd.readouterr()
    logged = (
        "\n".join(record.getMessage() + str(record.args) for record in caplog.records) + captured.out + captured.err
    )
    for canary in (PROVIDER_KEY_CANARY, prompt_canary, tenants.owner.api_key):
        assert canary not in stored
        assert canary not in logged
        for body in bodies:
            assert canary not in body
