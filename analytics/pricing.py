"""Dollar cost of a request from its usage and a model's list price.

Usage is OpenAI-shaped: `prompt_tokens` counts every input token, of which `cached_tokens` were
read from the provider's prompt cache and `cache_write_tokens` were written to it (Anthropic);
`cache_write_1h_tokens` of those writes went to the 1-hour cache, which Anthropic bills at twice
the input price (the 5-minute cache at the table's `cache_write`, 1.25×).
"""

from dataclasses import dataclass
from decimal import Decimal

MILLION = Decimal(1_000_000)
ONE_HOUR_WRITE_MULTIPLIER = Decimal(2)
ZERO = Decimal(0)


@dataclass(frozen=True)
class Price:
    input: Decimal
    output: Decimal
    cached_input: Decimal
    cache_write: Decimal
    # OpenAI's flex tier; None where the model does not offer it.
    flex_input: Decimal | None = None
    flex_output: Decimal | None = None
    flex_cached_input: Decimal | None = None

    @property
    def offers_flex(self):
        return self.flex_input is not None and self.flex_output is not None

    def on_flex(self):
        """Return the flex tier's price (for a model that offers it); without a cached price, reads cost full."""
        cached = self.flex_cached_input if self.flex_cached_input is not None else self.flex_input
        return Price(input=self.flex_input, output=self.flex_output, cached_input=cached, cache_write=self.flex_input)


@dataclass(frozen=True)
class Usage:
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cached_tokens: int = 0
    cache_write_tokens: int = 0
    cache_write_1h_tokens: int = 0

    @classmethod
    def from_openai(cls, usage):
        """Read an OpenAI-shaped usage object (as produced for Anthropic too); missing parts count 0."""
        if not isinstance(usage, dict):
            return cls()
        details = usage.get("prompt_tokens_details") or {}
        return cls(
            prompt_tokens=int(usage.get("prompt_tokens") or 0),
            completion_tokens=int(usage.get("completion_tokens") or 0),
            cached_tokens=int(details.get("cached_tokens") or usage.get("cache_read_input_tokens") or 0),
            cache_write_tokens=int(usage.get("cache_creation_input_tokens") or 0),
            cache_write_1h_tokens=int(usage.get("cache_creation_1h_input_tokens") or 0),
        )

    @classmethod
    def from_anthropic(cls, usage):
        """Read Anthropic's usage, whose input_tokens exclude cache reads and writes."""
        if not isinstance(usage, dict):
            return cls()
        reads = int(usage.get("cache_read_input_tokens") or 0)
        writes = int(usage.get("cache_creation_input_tokens") or 0)
        return cls(
            prompt_tokens=int(usage.get("input_tokens") or 0) + reads + writes,
            completion_tokens=int(usage.get("output_tokens") or 0),
            cached_tokens=reads,
            cache_write_tokens=writes,
            cache_write_1h_tokens=one_hour_writes(usage),
        )


def one_hour_writes(anthropic_usage):
    """Return the tokens Anthropic's usage says went to the 1-hour cache (its `cache_creation` breakdown)."""
    breakdown = anthropic_usage.get("cache_creation") if isinstance(anthropic_usage, dict) else None
    if not isinstance(breakdown, dict):
        return 0
    return int(breakdown.get("ephemeral_1h_input_tokens") or 0)


def cost_usd(price, usage):
    """Return the cost in USD; None when the model has no price."""
    if price is None:
        return None
    uncached = max(usage.prompt_tokens - usage.cached_tokens - usage.cache_write_tokens, 0)
    one_hour_writes = min(usage.cache_write_1h_tokens, usage.cache_write_tokens)
    total = (
        uncached * price.input
        + usage.cached_tokens * price.cached_input
        + (usage.cache_write_tokens - one_hour_writes) * price.cache_write
        + one_hour_writes * price.input * ONE_HOUR_WRITE_MULTIPLIER
        + usage.completion_tokens * price.output
    )
    return (total / MILLION).quantize(Decimal("0.00000001"))
