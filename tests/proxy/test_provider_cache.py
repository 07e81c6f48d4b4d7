"""Provider prompt caching without the client asking: Anthropic breakpoints, OpenAI cache keys, priced right."""

import anthropic
import pytest

from analytics.models import RequestLog
from tests.conftest import PROVIDER_KEY_CANARY, wait_for

pytestmark = [pytest.mark.django_db(transaction=True)]
LONG_SYSTEM = "You are the support assistant of Acme. " + " ".join(
    f"Rule {index}: answer politely, cite the policy section, and never promise refunds over 100 euros."
    for index in range(80)
)


def chat(client, turns):
    messages = [{"role": "system", "content": LONG_SYSTEM}]
    for index, turn in enumerate(turns):
        messages.append({"role": "user", "content": turn})
        if index < len(turns) - 1:
            messages.append({"role": "assistant", "content": f"Answer {index}."})
    return client.chat.completions.create(
        model="claude-sonnet-4-5", messages=messages, extra_headers={"X-Optera-Cache": "off"}
    )


def test_anthropic_cache_reads_happen_without_the_client_asking(openai_client, fake):
    first = chat(openai_client, ["Where is my order?"])
    upstream = fake.last_request.json
    assert upstream["system"][-1]["cache_control"] == {"type": "ephemeral"}
    assert first.usage.prompt_tokens_details.cached_tokens == 0
    second = chat(openai_client, ["Where is my order?", "And when will it arrive?"])
    assert second.usage.prompt_tokens_details.cached_tokens > 0
    log = wait_for(lambda: RequestLog.objects.filter(cached_tokens__gt=0).first())
    assert log.savings["provider_cache"] > 0
    written = wait_for(lambda: RequestLog.objects.filter(cache_write_tokens__gt=0, cached_tokens=0).first())
    # A write costs 1.25x input: that turn's provider-cache "saving" is negative, and the cost says so.
    assert written.savings["provider_cache"] < 0


def test_client_markers_are_left_alone(optera_server, tenants, fake):
    client = anthropic.Anthropic(
        base_url=optera_server.url,
        api_key=PROVIDER_KEY_CANARY,
        default_headers={"X-Optera-Key": tenants.owner.api_key},
        max_retries=0,
    )
    client.messages.create(
        model="claude-sonnet-4-5",
        max_tokens=20,
        system=[{"type": "text", "text": LONG_SYSTEM}],
        messages=[
            {"role": "user", "content": [{"type": "text", "text": "hello", "cache_control": {"type": "ephemeral"}}]}
        ],
    )
    upstream = fake.last_request.json
    assert "cache_control" not in upstream["system"][0]
    assert upstream["messages"][0]["content"][0]["cache_control"] == {"type": "ephemeral"}


def test_native_requests_get_breakpoints_too(optera_server, tenants, fake):
    client = anthropic.Anthropic(
        base_url=optera_server.url,
        api_key=PROVIDER_KEY_CANARY,
        default_headers={"X-Optera-Key": tenants.owner.api_key},
        max_retries=0,
    )
    client.messages.create(
        model="claude-sonnet-4-5", max_tokens=20, system=LONG_SYSTEM, messages=[{"role": "user", "content": "hello"}]
    )
    assert fake.last_request.json["system"][-1]["cache_control"] == {"type": "ephemeral"}


def test_openai_gets_a_prompt_cache_key_per_workspace_and_system_prompt(openai_client, optera_server, tenants, fake):
    openai_client.chat.completions.create(
        model="gpt-4o", messages=[{"role": "system", "content": LONG_SYSTEM}, {"role": "user", "content": "hi"}]
    )
    key = fake.last_request.json["prompt_cache_key"]
    assert key.startswith(f"optera-{tenants.owner.workspace.pk}-")
    assert "Acme" not in key
    openai_client.chat.completions.create(
        model="gpt-4o",
        messages=[{"role": "system", "content": LONG_SYSTEM}, {"role": "user", "content": "hello"}],
        extra_body={"prompt_cache_key": "mine"},
    )
    assert fake.last_request.json["prompt_cache_key"] == "mine"


def test_one_hour_cache_writes_are_priced_at_twice_the_input(optera_server, tenants, fake):
    """The fake bills the 1-hour write at 2x input; Optera's ledger must agree with that bill to the cent."""
    from tests.fakeprovider import Price

    client = anthropic.Anthropic(
        base_url=optera_server.url,
        api_key=PROVIDER_KEY_CANARY,
        default_headers={"X-Optera-Key": tenants.owner.api_key},
        max_retries=0,
    )
    system = [{"type": "text", "text": LONG_SYSTEM, "cache_control": {"type": "ephemeral", "ttl": "1h"}}]
    client.messages.create(
        model="claude-sonnet-4-5", max_tokens=20, system=system, messages=[{"role": "user", "content": "hello"}]
    )
    log = wait_for(lambda: RequestLog.objects.filter(endpoint="messages").first())
    assert log.cache_write_tokens > 1000
    billed = fake.bill_usd({"claude-sonnet-4-5": Price(input=3.0, output=15.0)})
    assert float(log.cost_usd) == pytest.approx(billed, abs=1e-6)
    # At 1.25x (the 5-minute rate) the ledger would fall short of the bill by 0.75x input per written token.
    assert float(log.cost_usd) > log.cache_write_tokens * 3.0 * 1.9 / 1_000_000
