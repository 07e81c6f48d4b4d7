"""Plan quotas at admission: requests and spend per calendar month (UTC), refused before anything is forwarded.

Every admitted request counts toward the request quota, cache hits included (a hit is a request
served). The spend cap counts what Optera forwards at list price: a request reserves an estimate
at admission (its prompt at the input price, plus its output cap at the output price) and the
account stage settles the difference, so a burst at the cap cannot overshoot it by more than one
request per process. Cache hits settle to nothing.
"""

import datetime
import logging
import math
from dataclasses import dataclass, field
from decimal import Decimal

from asgiref.sync import sync_to_async
from django.conf import settings

from billing import counter_keys
from billing import selectors as billing_selectors
from billing.budgets import MICRO_USD
from proxy.db import LastKnown
from proxy.errors import ProxyError
from proxy.shape.messages import message_text

LIMITS_SECONDS = 5
PROMPT_CHARS_PER_TOKEN = 3
FRAMING_TOKENS_PER_MESSAGE = 8
# The output a request without max_tokens is assumed to produce, for the spend reservation only.
DEFAULT_OUTPUT_CAP_TOKENS = 1000
THRESHOLDS = (80, 100)
NOT_COUNTED_ENDPOINTS = frozenset({"models"})
logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Month:
    label: str  # "2026-12"
    starts_at: datetime.datetime
    ends_at: datetime.datetime

    @classmethod
    def containing(cls, moment):
        start = moment.astimezone(datetime.UTC).replace(day=1, hour=0, minute=0, second=0, microsecond=0)
        end = (start + datetime.timedelta(days=32)).replace(day=1)
        return cls(label=start.strftime("%Y-%m"), starts_at=start, ends_at=end)


@dataclass(frozen=True)
class Held:
    """An amount a request took from one counter at admission."""

    counter_key: str
    amount: int
    expires_at: datetime.datetime
    spend: bool  # micro-dollars reserved as an estimate, settled to the real cost at the end


@dataclass
class QuotaTicket:
    """What a request took from its workspace's counters (plan quotas and budgets), settled by the account stage."""

    held: list = field(default_factory=list)
    estimate_micro_usd: int | None = None
    headers: list = field(default_factory=list)


class QuotaGate:
    def __init__(self, counters, background):
        self._counters = counters
        self._background = background
        self._limits = LastKnown(ttl_seconds=LIMITS_SECONDS, outage_seconds=settings.OPTERA_KEY_OUTAGE_SECONDS)

    def remember(self, workspace_id, limits):
        """Hold a workspace's plan limits read ahead (a warm start), as if a request had just read them."""
        self._limits.put(workspace_id, limits)

    async def admit(self, ctx, body, *, endpoint):
        """Count the request against its plan's monthly quotas; raise 429 quota_exceeded when over.

        Return the request's ticket (also for the budgets that come next), or None for a request
        that no quota counts.
        """
        if endpoint in NOT_COUNTED_ENDPOINTS:
            return None
        ticket = QuotaTicket()
        workspace_id = ctx.key_record.workspace_id
        limits = await self._limits_of(workspace_id)
        month = Month.containing(datetime.datetime.now(datetime.UTC))
        if limits.monthly_requests is not None:
            key = counter_keys.monthly_quota(workspace_id, "requests", month.label)
            taken = await self._counters.take(key, 1, limit=limits.monthly_requests, expires_at=month.ends_at)
            remaining = max(limits.monthly_requests - taken.used, 0)
            ticket.headers = [("x-optera-quota-remaining", str(remaining))]
            if not taken.granted:
                self._notify(workspace_id, "requests", 100, month)
                raise self._refusal(f"the plan's {limits.monthly_requests:,} requests this month", month, ticket)
            ticket.held.append(Held(key, 1, month.ends_at, spend=False))
            self._notify_crossed(workspace_id, "requests", taken.used, 1, limits.monthly_requests, month)
        if limits.monthly_spend_usd is not None:
            limit = int(limits.monthly_spend_usd * MICRO_USD)
            estimate = await self.estimate(ticket, ctx, body)
            key = counter_keys.monthly_quota(workspace_id, "spend", month.label)
            taken = await self._counters.take(key, estimate, limit=limit, expires_at=month.ends_at)
            if not taken.granted:
                await self.give_back(ticket)
                self._notify(workspace_id, "spend", 100, month)
                raise self._refusal(f"the plan's ${limits.monthly_spend_usd:,} spend cap this month", month, ticket)
            ticket.held.append(Held(key, estimate, month.ends_at, spend=True))
            self._notify_crossed(workspace_id, "spend", taken.used, estimate, limit, month)
        ctx.response_headers.extend(ticket.headers)
        return ticket

    async def estimate(self, ticket, ctx, body):
        """Return the request's worst-case cost in micro-dollars, worked out once per request."""
        if ticket.estimate_micro_usd is None:
            ticket.estimate_micro_usd = await self._estimate_micro_usd(ctx, body)
        return ticket.estimate_micro_usd

    async def settle(self, ticket, cost_usd):
        """Replace each spend reservation by what the request really cost."""
        if ticket is None:
            return
        actual = math.ceil(Decimal(cost_usd) * MICRO_USD)
        for held in ticket.held:
            if held.spend:
                await self._counters.adjust(held.counter_key, actual - held.amount, expires_at=held.expires_at)

    async def give_back(self, ticket):
        """Return everything the request took (it was refused by a later limit)."""
        for held in ticket.held:
            await self._counters.adjust(held.counter_key, -held.amount, expires_at=held.expires_at)
        ticket.held.clear()

    async def _limits_of(self, workspace_id):
        value, _stale = await self._limits.get(
            workspace_id, billing_selectors.workspace_limits, workspace_id=workspace_id
        )
        return value

    async def _estimate_micro_usd(self, ctx, body):
        """The prompt at the input price plus the output cap at the output price, on the high side.

        Tokenising on the event loop would cost milliseconds, so the prompt is counted at three
        characters a token (English runs about four) plus a generous framing per message: an
        estimate that falls short would let a burst pass a budget by more than one request.
        """
        messages = (body or {}).get("messages") or []
        prompt_tokens = sum(
            len(message_text(message)) // PROMPT_CHARS_PER_TOKEN + FRAMING_TOKENS_PER_MESSAGE
            for message in messages
            if isinstance(message, dict)
        )
        if isinstance((body or {}).get("input"), str):
            prompt_tokens += len(body["input"]) // PROMPT_CHARS_PER_TOKEN + 1
        output_cap = _output_cap(body or {})
        model = (body or {}).get("model")
        price = await self._price_for(ctx, model)
        if price is None:
            return 0
        # Prices are per million tokens, so price x tokens is already in micro-dollars; rounded up,
        # because a cheap model's request costs a few micro-dollars and truncating would halve it.
        return math.ceil(price.input * prompt_tokens + price.output * output_cap)

    @staticmethod
    async def _price_for(ctx, model):
        from proxy.shape.routing import provider_of

        try:
            target = provider_of(model)
        except ProxyError:
            return None
        return await ctx.runtime.prices.price(target.provider, target.model)

    @staticmethod
    def _refusal(what, month, ticket):
        return limit_refusal(
            f"quota exceeded: {what} are used up",
            code="quota_exceeded",
            reset_header="x-optera-quota-reset",
            ends_at=month.ends_at,
            headers=ticket.headers,
        )

    def _notify_crossed(self, workspace_id, quota, used, amount, limit, month):
        before = used - amount
        for threshold in THRESHOLDS:
            mark = limit * threshold / 100
            if before < mark <= used:
                self._notify(workspace_id, quota, threshold, month)

    def _notify(self, workspace_id, quota, threshold, month):
        self._background.spawn(_enqueue_threshold(workspace_id, quota, threshold, month.label))


def limit_refusal(message, *, code, reset_header, ends_at, headers=()):
    """A 429 for a limit that is used up: the message says when it resets, as do `reset_header` and Retry-After."""
    reset = ends_at.strftime("%Y-%m-%dT%H:%M:%SZ")
    seconds = max(int((ends_at - datetime.datetime.now(datetime.UTC)).total_seconds()), 1)
    return ProxyError(
        429,
        f"{message}; it resets at {reset}",
        code=code,
        error_type="rate_limit_error",
        headers=[*headers, (reset_header, reset), ("retry-after", str(seconds))],
    )


def _output_cap(body):
    for name in ("max_completion_tokens", "max_tokens", "max_output_tokens"):
        value = body.get(name)
        if isinstance(value, int) and not isinstance(value, bool) and value > 0:
            return value
    return DEFAULT_OUTPUT_CAP_TOKENS


async def _enqueue_threshold(workspace_id, quota, threshold, period):
    """Ask the worker to email the owners (once per threshold and month: the email is idempotent)."""
    from accounts.tasks import quota_threshold_notify

    try:
        await sync_to_async(quota_threshold_notify.delay, thread_sensitive=False)(
            workspace_id, quota, threshold, period
        )
    except Exception:  # the broker being down must not fail requests
        logger.warning("could not enqueue the quota notice for workspace %s", workspace_id, exc_info=True)
