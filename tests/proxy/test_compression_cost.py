"""Whether a compressed system prompt is worth sending: it must cost less than the original upstream."""

from decimal import Decimal

import pytest

from analytics.pricing import Price
from proxy.shape.compression import cheaper_to_send
from proxy.shape.routing import Target


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


def test_the_whole_prompt_decides_whether_the_cache_is_lost():
    price = Price(input=Decimal("0.15"), output=Decimal("0.60"), cached_input=Decimal("0.075"), cache_write=Decimal(0))
    target = Target(provider="openai", model="gpt-4o-mini")
    # 1,000 tokens of history keep the compressed prompt above the cache floor: compress.
    assert cheaper_to_send(tokens_before=1100, tokens_after=1000, target=target, price=price, other_tokens=1000)
    # 600 + 300 falls below it while 900 + 300 did not: only worth it if under half the cached cost.
    assert not cheaper_to_send(tokens_before=900, tokens_after=600, target=target, price=price, other_tokens=300)


def test_a_price_without_a_cached_rate_does_not_block_compression():
    price = Price(input=Decimal("0.15"), output=Decimal("0.60"), cached_input=Decimal(0), cache_write=Decimal(0))
    target = Target(provider="openai", model="gpt-4o-mini")
    assert cheaper_to_send(tokens_before=1100, tokens_after=1000, target=target, price=price)
