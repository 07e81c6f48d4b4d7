"""OpenAI's flex tier through Optera: half price where offered, the standard tier when refused or slow."""

import time
from decimal import Decimal

import openai
import pytest

from accounts import services
from accounts.models import ApiKey, WorkspaceSettings
from analytics.models import RequestLog
from tests.conftest import PROVIDER_KEY_CANARY, QUICK_LOG_FLUSH_SECONDS, wait_for
from tests.fakeprovider import Fault, Price

pytestmark = [pytest.mark.django_db(transaction=True)]
FLEX = {"X-Optera-Tier": "flex", "X-Optera-Cache": "off"}
# Standard list prices (USD per million tokens) as seeded; OpenAI bills flex at half of each.
GPT_5_MINI = Price(input=0.25, output=2.00, cache_read=0.025)
GPT_4O_MINI = Price(input=0.15, output=0.60, cache_read=0.075)


def ask(text):
    return [{"role": "user", "content": text}]


def cost_at(price, usage):
    """Return what an answer's usage costs at `price`, as the provider bills it."""
    cached = usage.prompt_tokens_details.cached_tokens if usage.prompt_tokens_details else 0
    return (
        (usage.prompt_tokens - cached) * price.input
        + cached * price.cache_read
        + usage.completion_tokens * price.output
    ) / 1_000_000


def only_log_row(request_id):
    """Return the request's log row once written, after checking no second row follows it."""
    log = wait_for(lambda: RequestLog.objects.filter(request_id=request_id).first())
    time.sleep(QUICK_LOG_FLUSH_SECONDS * 4)
    assert RequestLog.objects.count() == 1
    return log


def asked_tiers(fake):
    return [request.json.get("service_tier") for request in fake.requests]


def test_gpt_5_mini_on_flex_is_priced_at_the_flex_rate_and_the_saving_recorded(openai_client, fake):
    raw = openai_client.chat.completions.with_raw_response.create(
        model="gpt-5-mini", messages=ask("summarise the quarter"), extra_headers=FLEX
    )
    completion = raw.parse()

    assert asked_tiers(fake) == ["flex"]
    assert completion.service_tier == "flex"
    assert raw.headers["x-optera-tier"] == "flex"
    flex_cost = cost_at(GPT_5_MINI.on_flex(), completion.usage)
    standard_cost = cost_at(GPT_5_MINI, completion.usage)
    assert flex_cost == pytest.approx(standard_cost / 2)
    # The provider's own bill, at its flex prices, is what Optera charged.
    assert fake.bill_usd({"gpt-5-mini": GPT_5_MINI}) == pytest.approx(flex_cost, abs=1e-8)
    assert float(raw.headers["x-optera-cost-usd"]) == pytest.approx(flex_cost, abs=1e-8)
    assert float(raw.headers["x-optera-saved-usd"]) == pytest.approx(standard_cost - flex_cost, abs=1e-8)
    log = only_log_row(raw.headers["x-optera-request-id"])
    assert log.tier == "flex" and log.status_code == 200
    assert log.cost_usd == Decimal(raw.headers["x-optera-cost-usd"])
    assert log.savings == {"tier": pytest.approx(standard_cost - flex_cost, abs=1e-8)}
    assert float(log.saved_usd) == pytest.approx(standard_cost - flex_cost, abs=1e-8)


@pytest.mark.parametrize(
    "refusal",
    [
        Fault.flex_unavailable(times=5),
        Fault(path="/v1/chat/completions", service_tier="flex", status=429, error_type="resource_unavailable", times=5),
    ],
    ids=["code", "type"],
)
def test_a_flex_refusal_is_answered_from_the_standard_tier_once(openai_client, fake, refusal):
    fake.enqueue(refusal)
    raw = openai_client.chat.completions.with_raw_response.create(
        model="gpt-5-mini", messages=ask("classify this ticket"), extra_headers=FLEX
    )
    completion = raw.parse()

    assert completion.choices[0].message.content == "Echo: classify this ticket"
    # Flex once, not retried on flex (the fault would refuse every retry), then standard once.
    assert asked_tiers(fake) == ["flex", None]
    assert raw.headers["x-optera-tier"] == "standard" and completion.service_tier == "default"
    # One upstream answer billed, at the standard price; nothing billed on flex.
    assert len(fake.usages) == 1 and fake.usage_totals(service_tier="flex") == {}
    standard_cost = cost_at(GPT_5_MINI, completion.usage)
    assert float(raw.headers["x-optera-cost-usd"]) == pytest.approx(standard_cost, abs=1e-8)
    assert "x-optera-saved-usd" not in raw.headers
    log = only_log_row(raw.headers["x-optera-request-id"])
    assert (log.tier, log.status_code, log.savings) == ("standard", 200, {})
    assert log.cost_usd == Decimal(raw.headers["x-optera-cost-usd"])


def test_a_flex_request_without_a_first_byte_in_time_goes_standard(openai_client, fake, settings):
    settings.OPTERA_FLEX_FIRST_BYTE_TIMEOUT = 0.5
    fake.enqueue(Fault(path="/v1/chat/completions", service_tier="flex", delay_before_headers=5))
    started = time.monotonic()
    raw = openai_client.chat.completions.with_raw_response.create(
        model="gpt-5-mini", messages=ask("is this urgent"), extra_headers=FLEX
    )

    assert time.monotonic() - started < 3
    assert raw.headers["x-optera-tier"] == "standard"
    assert asked_tiers(fake) == ["flex", None]
    # The slow flex request was abandoned, so only the standard answer is billed.
    assert fake.wait_for_disconnect(timeout=2).stage == "before_headers"
    assert len(fake.usages) == 1
    assert only_log_row(raw.headers["x-optera-request-id"]).tier == "standard"


def test_other_failures_on_flex_get_the_usual_retries_on_flex(openai_client, fake):
    fake.enqueue(Fault(path="/v1/chat/completions", service_tier="flex", status=503))
    raw = openai_client.chat.completions.with_raw_response.create(
        model="gpt-5-mini", messages=ask("translate this"), extra_headers=FLEX
    )

    assert asked_tiers(fake) == ["flex", "flex"]
    assert raw.headers["x-optera-tier"] == "flex"


def test_a_model_without_flex_goes_standard_without_an_error(openai_client, fake):
    # The fake refuses service_tier "flex" on gpt-4o-mini with a 400, as OpenAI does.
    raw = openai_client.chat.completions.with_raw_response.create(
        model="gpt-4o-mini", messages=ask("hello"), extra_headers=FLEX
    )
    completion = raw.parse()

    assert completion.choices[0].message.content == "Echo: hello"
    assert asked_tiers(fake) == [None]
    assert raw.headers["x-optera-tier"] == "standard"
    assert float(raw.headers["x-optera-cost-usd"]) == pytest.approx(cost_at(GPT_4O_MINI, completion.usage), abs=1e-8)
    log = only_log_row(raw.headers["x-optera-request-id"])
    assert (log.tier, log.savings) == ("standard", {})


def test_claude_goes_standard_without_an_error(openai_client, fake):
    raw = openai_client.chat.completions.with_raw_response.create(
        model="claude-haiku-4-5", messages=ask("hello claude"), max_tokens=50, extra_headers=FLEX
    )

    assert raw.parse().choices[0].message.content == "Echo: hello claude"
    assert fake.last_request.path == "/v1/messages" and "service_tier" not in fake.last_request.json
    assert raw.headers["x-optera-tier"] == "standard"
    assert only_log_row(raw.headers["x-optera-request-id"]).tier == "standard"


def test_a_flex_stream_is_priced_at_the_flex_rate(openai_client, fake):
    with openai_client.chat.completions.with_streaming_response.create(
        model="gpt-5-mini",
        messages=ask("stream the report"),
        stream=True,
        stream_options={"include_usage": True},
        extra_headers=FLEX,
    ) as response:
        assert response.headers["x-optera-tier"] == "flex"
        request_id = response.headers["x-optera-request-id"]
        chunks = list(response.parse())

    assert "".join(chunk.choices[0].delta.content or "" for chunk in chunks if chunk.choices) == (
        "Echo: stream the report"
    )
    assert asked_tiers(fake) == ["flex"] and chunks[0].service_tier == "flex"
    usage = chunks[-1].usage
    flex_cost = cost_at(GPT_5_MINI.on_flex(), usage)
    log = only_log_row(request_id)
    assert log.tier == "flex" and log.stream
    assert float(log.cost_usd) == pytest.approx(flex_cost, abs=1e-8)
    assert fake.bill_usd({"gpt-5-mini": GPT_5_MINI}) == pytest.approx(flex_cost, abs=1e-8)
    assert log.savings == {"tier": pytest.approx(cost_at(GPT_5_MINI, usage) - flex_cost, abs=1e-8)}


def test_a_refused_flex_stream_streams_from_the_standard_tier(openai_client, fake):
    fake.enqueue(Fault.flex_unavailable(times=5))
    with openai_client.chat.completions.with_streaming_response.create(
        model="gpt-5-mini", messages=ask("stream anyway"), stream=True, extra_headers=FLEX
    ) as response:
        assert response.headers["x-optera-tier"] == "standard"
        request_id = response.headers["x-optera-request-id"]
        chunks = list(response.parse())

    assert "".join(chunk.choices[0].delta.content or "" for chunk in chunks if chunk.choices) == "Echo: stream anyway"
    assert asked_tiers(fake) == ["flex", None]
    assert len(fake.usages) == 1
    log = only_log_row(request_id)
    assert (log.tier, log.status_code, log.savings) == ("standard", 200, {})
    assert float(log.cost_usd) == pytest.approx(fake.bill_usd({"gpt-5-mini": GPT_5_MINI}), abs=1e-8)


def test_flex_as_the_workspace_default_and_a_request_that_overrides_it(openai_client, fake, tenants):
    WorkspaceSettings.objects.filter(workspace=tenants.owner.workspace).update(tier="flex")
    by_default = openai_client.chat.completions.with_raw_response.create(
        model="gpt-5-mini", messages=ask("first"), extra_headers={"X-Optera-Cache": "off"}
    )
    overridden = openai_client.chat.completions.with_raw_response.create(
        model="gpt-5-mini", messages=ask("second"), extra_headers={"X-Optera-Cache": "off", "X-Optera-Tier": "standard"}
    )

    assert asked_tiers(fake) == ["flex", None]
    assert (by_default.headers["x-optera-tier"], overridden.headers["x-optera-tier"]) == ("flex", "standard")


def test_an_unknown_tier_is_a_400_naming_the_header_and_nothing_is_sent(openai_client, fake):
    with pytest.raises(openai.BadRequestError) as raised:
        openai_client.chat.completions.create(
            model="gpt-5-mini", messages=ask("hello"), extra_headers={"X-Optera-Tier": "cheapest"}
        )

    error = raised.value.response.json()["error"]
    assert set(error) == {"message", "type", "param", "code"}
    assert error["param"] == "X-Optera-Tier" and "X-Optera-Tier" in error["message"]
    assert error["type"] == "invalid_request_error"
    assert fake.requests == []


def test_a_keys_default_tier_beats_the_workspaces_and_the_header_beats_both(
    openai_client, fake, tenants, optera_server
):
    # Set before each key's first request: a proxy trusts a key record it has read for a few seconds.
    ApiKey.objects.filter(pk=tenants.owner.key_row.pk).update(tier="flex")
    flex_key = openai_client.chat.completions.with_raw_response.create(
        model="gpt-5-mini", messages=ask("first"), extra_headers={"X-Optera-Cache": "off"}
    )
    WorkspaceSettings.objects.filter(workspace=tenants.owner.workspace).update(tier="flex")
    _, standard_key = services.api_key_create(workspace=tenants.owner.workspace, tier="standard")
    standard_client = openai.OpenAI(
        base_url=optera_server.v1,
        api_key=standard_key,
        max_retries=0,
        default_headers={"X-Provider-Key": PROVIDER_KEY_CANARY, "X-Optera-Cache": "off"},
    )
    standard = standard_client.chat.completions.with_raw_response.create(model="gpt-5-mini", messages=ask("second"))
    header = standard_client.chat.completions.with_raw_response.create(
        model="gpt-5-mini", messages=ask("third"), extra_headers={"X-Optera-Tier": "flex"}
    )

    assert asked_tiers(fake) == ["flex", None, "flex"]
    assert [raw.headers["x-optera-tier"] for raw in (flex_key, standard, header)] == ["flex", "standard", "flex"]
