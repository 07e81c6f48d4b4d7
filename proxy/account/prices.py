"""Prices in memory, and what each request cost and saved against sending it directly."""

import time
from decimal import Decimal

from accounts.models import ServiceTier
from analytics import selectors as analytics_selectors
from analytics.pricing import ONE_HOUR_WRITE_MULTIPLIER, Usage, cost_usd
from proxy.db import DatabaseUnavailable, in_db_thread

PRICE_REFRESH_SECONDS = 60
# While the database is away, the last prices stand and a refresh is tried again this often.
PRICE_RETRY_SECONDS = 5
FLEX = ServiceTier.FLEX.value


def provider_cache_saving_usd(
    *,
    cached_tokens: int,
    cache_write_tokens: int,
    input_price: float,
    cached_input_price: float,
    cache_write_price: float,
    cache_write_1h_tokens: int = 0,
) -> float:
    """Return the dollars saved by the provider's prompt cache against sending everything uncached.

    Prices are per million tokens. The result is negative on a turn that only writes the cache
    (Anthropic bills a write above the input price: 1.25x for 5 minutes, 2x for an hour); the
    following turns' reads repay it.
    """
    one_hour = min(cache_write_1h_tokens, cache_write_tokens)
    read_saving = cached_tokens * (input_price - cached_input_price)
    write_premium = (cache_write_tokens - one_hour) * (cache_write_price - input_price) + one_hour * (
        input_price * float(ONE_HOUR_WRITE_MULTIPLIER) - input_price
    )
    return (read_saving - write_premium) / 1_000_000


class PriceBook:
    """The price table in memory, refreshed in the background once a minute."""

    def __init__(self, background):
        self._background = background
        self._prices = None
        self._loaded_at = 0.0
        self._refreshing = None

    async def price(self, provider, model):
        if self._prices is None:
            await self._refresh()
        elif time.monotonic() - self._loaded_at > PRICE_REFRESH_SECONDS and self._refreshing is None:
            self._refreshing = self._background.spawn(self._refresh())
        return self.lookup(self._prices, provider, model)

    async def all(self):
        if self._prices is None:
            await self._refresh()
        return self._prices

    @staticmethod
    def lookup(prices, provider, model):
        """Exact name first, then the longest listed name that `model` starts with (dated versions)."""
        exact = prices.get((provider, model))
        if exact is not None:
            return exact
        best = None
        for (price_provider, price_model), price in prices.items():
            if price_provider == provider and model.startswith(price_model + "-"):
                if best is None or len(price_model) > len(best[0]):
                    best = (price_model, price)
        return best[1] if best else None

    async def _refresh(self):
        try:
            await self._load()
        finally:
            self._refreshing = None

    async def _load(self):
        try:
            prices = await in_db_thread(analytics_selectors.model_prices_current)
        except DatabaseUnavailable:
            if self._prices is None:
                raise
            # The database is away: the last prices stand, and a refresh is tried again soon.
            self._loaded_at = time.monotonic() - PRICE_REFRESH_SECONDS + PRICE_RETRY_SECONDS
            return
        # An empty table is a mistake (or a table being reloaded), not a price of zero: keep the last known.
        if prices or self._prices is None:
            self._prices = prices
        self._loaded_at = time.monotonic()

    async def cost(self, provider, model, usage):
        return cost_usd(await self.price(provider, model), usage) or Decimal(0)

    async def account(self, record):
        """Price the record's usage on the tier that served it; note what the tier, prompt caching and routing saved."""
        record.priced = True
        price = await self.price(record.provider, record.model_used)
        standard_cost = cost_usd(price, record.usage) or Decimal(0)
        if record.tier == FLEX and price is not None and price.offers_flex:
            price = price.on_flex()
            record.cost_usd = cost_usd(price, record.usage)
            if standard_cost > record.cost_usd:
                record.savings["tier"] = float(standard_cost - record.cost_usd)
        else:
            record.cost_usd = standard_cost
        if price is not None and (record.usage.cached_tokens or record.usage.cache_write_tokens):
            saving = provider_cache_saving_usd(
                cached_tokens=record.usage.cached_tokens,
                cache_write_tokens=record.usage.cache_write_tokens,
                cache_write_1h_tokens=record.usage.cache_write_1h_tokens,
                input_price=float(price.input),
                cached_input_price=float(price.cached_input),
                cache_write_price=float(price.cache_write),
            )
            if saving:
                record.savings["provider_cache"] = saving
        baseline = record.route_baseline
        if baseline is not None and (baseline.provider, baseline.model) != (record.provider, record.model_used):
            # The strong tier would not have read the cheap model's prompt cache: price its input uncached.
            # Measured against the standard price, so the flex tier's share is its own saving, not routing's.
            uncached = Usage(prompt_tokens=record.usage.prompt_tokens, completion_tokens=record.usage.completion_tokens)
            strong_cost = await self.cost(baseline.provider, baseline.model, uncached)
            if strong_cost > standard_cost:
                record.savings["routing"] = float(strong_cost - standard_cost)
