"""Known usage gives known dollars, for every kind of token a provider bills."""

from decimal import Decimal

import pytest

from analytics.pricing import Price, Usage, cost_usd
from proxy.account.prices import provider_cache_saving_usd

# Claude Sonnet's list price per million tokens: input 3, output 15, cache read 0.30, 5-minute write 3.75.
SONNET = Price(input=Decimal(3), output=Decimal(15), cached_input=Decimal("0.30"), cache_write=Decimal("3.75"))
# A flex model: standard 0.25 / 2.00 (cached 0.025), flex half of each.
MINI = Price(
    input=Decimal("0.25"),
    output=Decimal(2),
    cached_input=Decimal("0.025"),
    cache_write=Decimal("0.25"),
    flex_input=Decimal("0.125"),
    flex_output=Decimal(1),
    flex_cached_input=Decimal("0.0125"),
)


@pytest.mark.parametrize(
    "usage, price, dollars",
    [
        (Usage(prompt_tokens=1_000_000), SONNET, "3"),
        (Usage(completion_tokens=1_000_000), SONNET, "15"),
        (Usage(prompt_tokens=1_000_000, cached_tokens=1_000_000), SONNET, "0.3"),
        (Usage(prompt_tokens=1_000_000, cache_write_tokens=1_000_000), SONNET, "3.75"),
        # The 1-hour cache: twice the input price.
        (Usage(prompt_tokens=1_000_000, cache_write_tokens=1_000_000, cache_write_1h_tokens=1_000_000), SONNET, "6"),
        # Everything at once: 100k plain + 200k read + 300k 5-minute + 400k 1-hour writes, 50k out:
        # 0.1 x 3 + 0.2 x 0.30 + 0.3 x 3.75 + 0.4 x 6 + 0.05 x 15 = 0.3 + 0.06 + 1.125 + 2.4 + 0.75.
        (
            Usage(
                prompt_tokens=1_000_000,
                cached_tokens=200_000,
                cache_write_tokens=700_000,
                cache_write_1h_tokens=400_000,
                completion_tokens=50_000,
            ),
            SONNET,
            "4.635",
        ),
        (Usage(prompt_tokens=1_000_000, completion_tokens=1_000_000), MINI.on_flex(), "1.125"),
        (Usage(prompt_tokens=1_000_000, cached_tokens=1_000_000), MINI.on_flex(), "0.0125"),
    ],
    ids=["input", "output", "cache read", "5-minute write", "1-hour write", "mixed", "flex", "flex cache read"],
)
def test_known_usage_costs_known_dollars(usage, price, dollars):
    assert cost_usd(price, usage) == Decimal(dollars)


def test_anthropic_s_usage_names_its_one_hour_writes():
    usage = Usage.from_anthropic(
        {
            "input_tokens": 10,
            "cache_read_input_tokens": 100,
            "cache_creation_input_tokens": 1000,
            "cache_creation": {"ephemeral_5m_input_tokens": 400, "ephemeral_1h_input_tokens": 600},
            "output_tokens": 5,
        }
    )
    assert usage == Usage(
        prompt_tokens=1110, completion_tokens=5, cached_tokens=100, cache_write_tokens=1000, cache_write_1h_tokens=600
    )


def test_a_one_hour_write_costs_more_saving_than_a_five_minute_one():
    common = {"cached_tokens": 0, "input_price": 3.0, "cached_input_price": 0.3, "cache_write_price": 3.75}
    five_minutes = provider_cache_saving_usd(cache_write_tokens=1_000_000, **common)
    one_hour = provider_cache_saving_usd(cache_write_tokens=1_000_000, cache_write_1h_tokens=1_000_000, **common)
    assert five_minutes == pytest.approx(-0.75) and one_hour == pytest.approx(-3.0)
