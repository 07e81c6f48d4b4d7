"""Per-request accounting: the record of one request, prices, and the batched log writer."""

import asyncio
import logging
import time
from dataclasses import dataclass, field
from decimal import Decimal

from django.conf import settings
from django.db import DatabaseError, transaction

from analytics import selectors as analytics_selectors
from analytics.models import RequestLog
from analytics.pricing import Usage, cost_usd
from proxy.db import in_db_thread
from proxy.prompt_cache import provider_cache_saving_usd

PRICE_REFRESH_SECONDS = 60
MAX_BUFFERED_LOGS = 50_000
logger = logging.getLogger(__name__)


@dataclass
class RequestRecord:
    """What one request did; becomes a RequestLog row. Holds no prompt text."""

    request_id: str
    endpoint: str
    started: float
    workspace_id: int | None = None
    api_key_id: int | None = None
    model_requested: str = ""
    model_used: str = ""
    provider: str = ""
    stream: bool = False
    status_code: int = 0
    error_type: str = ""
    usage: Usage = field(default_factory=Usage)
    usage_estimated: bool = False
    cost_usd: Decimal = Decimal(0)
    savings: dict = field(default_factory=dict)
    cache_status: str = "bypass"
    upstream_seconds: float = 0.0
    first_byte_ms: float | None = None
    client_ip: str | None = None
    prompt_hash: str = ""
    route_reason: str = ""
    # For optera/auto: the strong-tier target the request would have used; routing savings are
    # measured against it.
    route_baseline: object = None
    logged: bool = False

    def elapsed_ms(self):
        return (time.perf_counter() - self.started) * 1000

    def overhead_ms(self):
        return max(self.elapsed_ms() - self.upstream_seconds * 1000, 0.0)

    def to_row(self):
        total_ms = self.elapsed_ms()
        return RequestLog(
            workspace_id=self.workspace_id,
            api_key_id=self.api_key_id,
            request_id=self.request_id,
            endpoint=self.endpoint,
            model_requested=self.model_requested[:100],
            model_used=self.model_used[:100],
            provider=self.provider,
            stream=self.stream,
            status_code=self.status_code,
            error_type=self.error_type[:60],
            prompt_tokens=self.usage.prompt_tokens,
            completion_tokens=self.usage.completion_tokens,
            cached_tokens=self.usage.cached_tokens,
            cache_write_tokens=self.usage.cache_write_tokens,
            usage_estimated=self.usage_estimated,
            cost_usd=self.cost_usd,
            saved_usd=sum((Decimal(str(value)) for value in self.savings.values()), Decimal(0)),
            savings=self.savings,
            cache_status=self.cache_status,
            total_ms=round(total_ms, 3),
            first_byte_ms=self.first_byte_ms,
            overhead_ms=round(max(total_ms - self.upstream_seconds * 1000, 0.0), 3),
            client_ip=self.client_ip,
            prompt_hash=self.prompt_hash,
            route_reason=self.route_reason[:200],
        )


class PriceBook:
    """The price table in memory, refreshed in the background once a minute."""

    def __init__(self):
        self._prices = None
        self._loaded_at = 0.0
        self._refreshing = None

    async def price(self, provider, model):
        if self._prices is None:
            await self._refresh()
        elif time.monotonic() - self._loaded_at > PRICE_REFRESH_SECONDS and self._refreshing is None:
            self._refreshing = asyncio.ensure_future(self._refresh())
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
            prices = await in_db_thread(analytics_selectors.model_prices_current)
            # An empty table is a mistake (or a table being reloaded), not a price of zero: keep the last known.
            if prices or self._prices is None:
                self._prices = prices
            self._loaded_at = time.monotonic()
        finally:
            self._refreshing = None

    async def cost(self, provider, model, usage):
        return cost_usd(await self.price(provider, model), usage) or Decimal(0)

    async def account(self, record):
        """Price the record's usage, and what provider caching and routing saved."""
        price = await self.price(record.provider, record.model_used)
        record.cost_usd = cost_usd(price, record.usage) or Decimal(0)
        if price is not None and (record.usage.cached_tokens or record.usage.cache_write_tokens):
            saving = provider_cache_saving_usd(
                cached_tokens=record.usage.cached_tokens,
                cache_write_tokens=record.usage.cache_write_tokens,
                input_price=float(price.input),
                cached_input_price=float(price.cached_input),
                cache_write_price=float(price.cache_write),
            )
            if saving:
                record.savings["provider_cache"] = saving
        baseline = record.route_baseline
        if baseline is not None and (baseline.provider, baseline.model) != (record.provider, record.model_used):
            # The strong tier would not have read the cheap model's prompt cache: price its input uncached.
            uncached = Usage(prompt_tokens=record.usage.prompt_tokens, completion_tokens=record.usage.completion_tokens)
            strong_cost = await self.cost(baseline.provider, baseline.model, uncached)
            if strong_cost > record.cost_usd:
                record.savings["routing"] = float(strong_cost - record.cost_usd)


class LogWriter:
    """Buffers request records and writes them in batches, off the request path."""

    def __init__(self, *, on_record=None):
        self._buffer = []
        self._task = None
        self._on_record = on_record

    def add(self, record):
        if record.logged:
            return
        record.logged = True
        if self._on_record is not None:
            try:
                self._on_record(record)
            except Exception:  # metrics must never cost a request its log row
                logger.exception("could not count request %s in the metrics", record.request_id)
        if len(self._buffer) >= MAX_BUFFERED_LOGS:
            logger.error("request log buffer full; dropping a record")
            return
        self._buffer.append(record.to_row())
        if self._task is None or self._task.done():
            self._task = asyncio.ensure_future(self._flush_later())

    async def _flush_later(self):
        # Loop until the buffer stays empty: rows added while a write is in flight would otherwise
        # wait for the next request, which may never come.
        while self._buffer:
            await asyncio.sleep(settings.OPTERA_LOG_FLUSH_SECONDS)
            await self.flush()

    async def flush(self):
        rows, self._buffer = self._buffer, []
        if not rows:
            return
        try:
            await in_db_thread(_write_rows, rows)
        except Exception:  # a failed write must not break serving; the rows are reported and dropped
            logger.exception("could not write %d request logs", len(rows))


def _write_rows(rows):
    """Insert the rows in one go; if a workspace or key vanished meanwhile, keep every row that still fits."""
    try:
        RequestLog.objects.bulk_create(rows, batch_size=500)
    except DatabaseError:
        # One bad row (a deleted workspace, a value PostgreSQL refuses) must not cost the others.
        for row in rows:
            try:
                with transaction.atomic():
                    row.save(force_insert=True)
            except DatabaseError:
                logger.info("dropped a request log the database refused")
