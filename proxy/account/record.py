"""The record of one request: what it did, priced and logged by the account stage. Holds no prompt text."""

import time
from dataclasses import dataclass, field
from decimal import Decimal

from analytics.models import RequestLog
from analytics.pricing import Usage


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
    # The provider tier that answered ("flex" or "standard"); empty when no provider did.
    tier: str = ""
    end_user: str = ""
    tags: tuple = ()
    session_id: str = ""
    session_path: str = ""
    # What it was served without ("database", "redis"): said in X-Optera-Degraded.
    degraded: set = field(default_factory=set)
    # The TTL of the Anthropic prompt-cache markers Optera placed ("5m", "1h"); said in X-Optera-Provider-Cache-TTL.
    provider_cache_ttl: str = ""
    # Set once cost and savings are known (a relayed JSON answer carries its cost in a header).
    priced: bool = False

    @classmethod
    def for_background_call(cls, ctx, *, endpoint, suffix, provider, model):
        """Return the record of an upstream call Optera makes for ``ctx``'s request (a summary, a verification)."""
        return cls(
            # The request's id and a short suffix: request ids are at most 40 characters.
            request_id=f"{ctx.record.request_id}-{suffix}",
            endpoint=endpoint,
            started=time.perf_counter(),
            workspace_id=ctx.key_record.workspace_id,
            api_key_id=ctx.key_record.api_key_id,
            model_requested=model,
            model_used=model,
            provider=provider,
        )

    def degrade(self, reason):
        self.degraded.add(reason)

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
            cache_write_1h_tokens=self.usage.cache_write_1h_tokens,
            provider_cache_ttl=self.provider_cache_ttl,
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
            tier=self.tier,
            end_user=self.end_user,
            tags=list(self.tags),
            session_id=self.session_id,
            session_path=self.session_path,
        )
