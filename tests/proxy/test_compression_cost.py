"""Whether a compressed system prompt is worth sending: it must cost less than the original upstream."""

from decimal import Decimal

import pytest

from analytics.pricing import Price
from proxy.compression import cheaper_to_send
from proxy.routing import Target


@pytest.mark.parametrize(
    "provider, tokens_before, tokens_after, expected",
    [
        ("openai", 1800, 720, True),  # under half of the cached original: cheaper even uncached
        ("openai", 1100, 1000, False),  # loses the 50 % prefix-cache discount for 9 % fewer tokens
        ("openai", 3000, 2000, True),  # stays cacheable
        ("openai", 900, 800, True),  # never was cacheable
        ("anthropic", 1100, 1000, True),  # no automatic cache to lose
        ("openai", 1000, 1000, False),
    ],
)
def test_compressed_prompt_is_sent_only_when_it_costs_less(provider, tokens_before, tokens_after, expected):
    price = Price(input=Decimal("0.15"), output=Decimal("0.60"), cached_input=Decimal("0.075"), cache_write=Decimal(0))
    target = Target(provider=provider, model="gpt-4o-mini")
    assert (
        cheaper_to_send(tokens_before=tokens_before, tokens_after=tokens_after, target=target, price=price) is expected
    )
