"""Anthropic's prompt-cache TTL chosen from a conversation's cadence, through the real proxy and the fake.

Twenty-minute gaps are shown without waiting: the fake provider's cache clock and the proxy
runtime's injectable clock move forward together.
"""

import io
import pickle
import secrets
import time
from decimal import Decimal

import anthropic
import pytest
from django.core.cache import cache
from django.core.management import call_command

from analytics.models import ModelPrice, RequestLog
from tests.conftest import PROVIDER_KEY_CANARY, wait_for
from tests.proxy.test_privacy import every_redis_key_and_value

pytestmark = [pytest.mark.django_db(transaction=True)]
MODEL = "claude-sonnet-4-5"
MINUTE = 60
LONG_SYSTEM = "You review pull requests for the Acme billing service. " + " ".join(
    f"Rule {index}: point at the line, say why it is risky, and propose the smallest fix." for index in range(90)
)


class SteppedClock:
    """Seconds since the epoch that move only when told to."""

    def __init__(self):
        self.now = time.time()

    def __call__(self):
        return self.now

    def advance(self, seconds):
        self.now += seconds


@pytest.fixture
def advance(optera_server, fake):
    """Return advance(minutes): moves the proxy's clock and the fake provider's cache clock together."""
    from optera.asgi import proxy_application

    runtime = proxy_application.runtime
    original_clock = runtime.clock
    clock = SteppedClock()
    runtime.clock = clock

    def advance_both(minutes):
        clock.advance(minutes * MINUTE)
        fake.advance(minutes * MINUTE)

    yield advance_both
    runtime.clock = original_clock


def set_option(workspace, value):
    call_command("workspace_settings", workspace.name, "--set", f"anthropic_cache_ttl={value}", stdout=io.StringIO())


def converse(client, *, turns, gap_minutes, advance, first_words="Please review this change."):
    """Hold a conversation, `gap_minutes` apart; return each turn's raw response."""
    messages = [{"role": "system", "content": LONG_SYSTEM}]
    responses = []
    for turn in range(turns):
        if turn:
            advance(gap_minutes)
        messages.append({"role": "user", "content": f"{first_words} Turn {turn}: diff {turn} follows."})
        raw = client.chat.completions.with_raw_response.create(
            model=MODEL, messages=messages, max_tokens=50, extra_headers={"X-Optera-Cache": "off"}
        )
        responses.append(raw)
        messages.append({"role": "assistant", "content": raw.parse().choices[0].message.content})
    return responses


def markers(upstream_body):
    """Return every cache_control marker of an Anthropic request body."""
    blocks = list(upstream_body.get("tools") or []) + list(upstream_body.get("system") or [])
    for message in upstream_body["messages"]:
        content = message["content"]
        blocks.extend(content if isinstance(content, list) else [])
    return [block["cache_control"] for block in blocks if isinstance(block, dict) and "cache_control" in block]


def test_a_twenty_minute_cadence_gets_the_one_hour_cache(openai_client, tenants, fake, advance):
    responses = converse(openai_client, turns=3, gap_minutes=20, advance=advance)
    upstream = [record.json for record in fake.requests if record.path.endswith("/v1/messages")]

    assert markers(upstream[0]) and all(marker == {"type": "ephemeral"} for marker in markers(upstream[0]))
    assert markers(upstream[2]) and all(marker == {"type": "ephemeral", "ttl": "1h"} for marker in markers(upstream[2]))
    assert [raw.headers["x-optera-provider-cache-ttl"] for raw in responses] == ["5m", "1h", "1h"]
    # Twenty minutes after a 1-hour write the history is read, not written again.
    third = responses[2].parse().usage
    assert third.prompt_tokens_details.cached_tokens > 0
    logs = wait_for(lambda: list(RequestLog.objects.order_by("id")) if RequestLog.objects.count() == 3 else None)
    assert [log.provider_cache_ttl for log in logs] == ["5m", "1h", "1h"]
    assert logs[1].cache_write_1h_tokens > 0 and logs[1].cached_tokens == 0


def test_one_hour_writes_are_priced_at_twice_the_input_price(openai_client, tenants, fake, advance):
    converse(openai_client, turns=3, gap_minutes=20, advance=advance)
    logs = wait_for(lambda: list(RequestLog.objects.order_by("id")) if RequestLog.objects.count() == 3 else None)
    price = ModelPrice.objects.get(provider="anthropic", model=MODEL, valid_to__isnull=True)
    million = Decimal(1_000_000)
    for log in logs:
        one_hour = log.cache_write_1h_tokens
        five_minutes = log.cache_write_tokens - one_hour
        uncached = log.prompt_tokens - log.cached_tokens - log.cache_write_tokens
        expected = (
            uncached * price.input_per_mtok
            + log.cached_tokens * price.cached_input_per_mtok
            + five_minutes * price.cache_write_per_mtok
            + one_hour * 2 * price.input_per_mtok
            + log.completion_tokens * price.output_per_mtok
        ) / million
        assert log.cost_usd == expected.quantize(Decimal("0.00000001"))
        # Against sending it uncached: reads save 0.9x input, a 1-hour write costs 1x input more.
        saving = (
            log.cached_tokens * (price.input_per_mtok - price.cached_input_per_mtok)
            - five_minutes * (price.cache_write_per_mtok - price.input_per_mtok)
            - one_hour * price.input_per_mtok
        ) / million
        assert log.savings.get("provider_cache", 0.0) == pytest.approx(float(saving), abs=1e-9)
    assert logs[1].savings["provider_cache"] < 0 < logs[2].savings["provider_cache"]


def test_forced_five_minutes_write_the_history_again_after_every_gap(openai_client, tenants, fake, advance):
    set_option(tenants.owner.workspace, "5m")
    responses = converse(openai_client, turns=3, gap_minutes=20, advance=advance)

    assert [raw.headers["x-optera-provider-cache-ttl"] for raw in responses] == ["5m", "5m", "5m"]
    assert all(raw.parse().usage.prompt_tokens_details.cached_tokens == 0 for raw in responses)


def test_quick_turns_stay_at_five_minutes(openai_client, tenants, fake, advance):
    quick = converse(openai_client, turns=3, gap_minutes=1, advance=advance)
    assert [raw.headers["x-optera-provider-cache-ttl"] for raw in quick] == ["5m", "5m", "5m"]
    assert quick[2].parse().usage.prompt_tokens_details.cached_tokens > 0


def test_forced_one_hour_starts_at_the_first_turn(openai_client, tenants, fake, advance):
    # Set before the key's first request: the proxy holds a key's settings for a few seconds.
    set_option(tenants.owner.workspace, "1h")
    forced = converse(openai_client, turns=1, gap_minutes=1, advance=advance)
    assert forced[0].headers["x-optera-provider-cache-ttl"] == "1h"
    assert all(marker.get("ttl") == "1h" for marker in markers(fake.last_request.json))


def test_a_clients_own_markers_get_no_ttl_and_no_header(optera_server, tenants, fake, advance):
    set_option(tenants.owner.workspace, "1h")
    client = anthropic.Anthropic(
        base_url=optera_server.url,
        api_key=PROVIDER_KEY_CANARY,
        default_headers={"X-Optera-Key": tenants.owner.api_key, "X-Optera-Cache": "off"},
        max_retries=0,
    )
    own_marker = {"type": "text", "text": "hello", "cache_control": {"type": "ephemeral"}}
    raw = client.messages.with_raw_response.create(
        model=MODEL,
        max_tokens=20,
        system=[{"type": "text", "text": LONG_SYSTEM}],
        messages=[{"role": "user", "content": [own_marker]}],
    )
    assert "x-optera-provider-cache-ttl" not in raw.headers
    upstream = fake.last_request.json
    assert "cache_control" not in upstream["system"][0]
    assert upstream["messages"][0]["content"][0]["cache_control"] == {"type": "ephemeral"}

    native = client.messages.with_raw_response.create(
        model=MODEL, max_tokens=20, system=LONG_SYSTEM, messages=[{"role": "user", "content": "hello"}]
    )
    assert native.headers["x-optera-provider-cache-ttl"] == "1h"
    assert fake.last_request.json["system"][-1]["cache_control"] == {"type": "ephemeral", "ttl": "1h"}


def cache_keys_and_values():
    """Return every key and value in Django's cache as text: Redis when configured, else this process's memory."""
    in_redis = every_redis_key_and_value()
    in_memory = []
    # The in-process cache (no REDIS_URL) keeps pickled values by key; read them back to text.
    for key, pickled in getattr(cache, "_cache", {}).items():
        in_memory.append(f"{key} {pickle.loads(pickled)!r} {pickled!r}")
    return in_redis + "\n".join(in_memory)


def test_the_cadence_record_holds_no_prompt_text(openai_client, tenants, fake, advance):
    canary = "canary" + secrets.token_hex(8)
    converse(openai_client, turns=3, gap_minutes=20, advance=advance, first_words=f"Secret codename {canary}.")

    dump = cache_keys_and_values()
    assert "optera:cadence:" in dump  # the records are there to be searched
    assert canary not in dump
    assert "Acme billing" not in dump and "Turn 1" not in dump


def test_streamed_turns_account_one_hour_writes_too(openai_client, tenants, fake, advance):
    messages = [{"role": "system", "content": LONG_SYSTEM}]
    for turn in range(3):
        if turn:
            advance(20)
        messages.append({"role": "user", "content": f"Streamed turn {turn}."})
        stream = openai_client.chat.completions.create(
            model=MODEL, messages=messages, max_tokens=50, stream=True, extra_headers={"X-Optera-Cache": "off"}
        )
        answer = "".join(chunk.choices[0].delta.content or "" for chunk in stream if chunk.choices)
        messages.append({"role": "assistant", "content": answer})

    logs = wait_for(lambda: list(RequestLog.objects.order_by("id")) if RequestLog.objects.count() == 3 else None)
    assert [log.provider_cache_ttl for log in logs] == ["5m", "1h", "1h"]
    assert logs[1].cache_write_1h_tokens == logs[1].cache_write_tokens > 0
    assert logs[2].cached_tokens > 0
