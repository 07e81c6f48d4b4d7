"""Sending a request upstream and relaying the answer to the client: JSON or a stream.

What the answer cost is settled by the account stage; a JSON answer is priced here already
because its cost goes out in a response header.
"""

import asyncio
import logging
import time

import aiohttp
from django.conf import settings

from analytics.pricing import Usage
from proxy.account.accounting import RelayedStream
from proxy.errors import ProxyError, UpstreamFailure
from proxy.forward.tiers import STANDARD, send_on_tier, tier_for
from proxy.providers.anthropic.errors import UpstreamStreamError

PASSED_UPSTREAM_HEADERS = (
    "retry-after",
    "x-ratelimit-limit-requests",
    "x-ratelimit-remaining-requests",
    "x-ratelimit-limit-tokens",
    "x-ratelimit-remaining-tokens",
)
logger = logging.getLogger(__name__)


def failure_to_error(failure):
    """Turn the last upstream failure into the client's error: 429 keeps Retry-After; faults are 502/504."""
    if failure.status == 429:
        retry_after = failure.headers.get("retry-after")
        headers = [("retry-after", retry_after)] if retry_after else []
        return ProxyError(
            429, "the provider is rate limiting this key; retry later", code="upstream_rate_limited", headers=headers
        )
    if failure.status == 504:
        return ProxyError(504, failure.reason or "upstream timed out", code="upstream_timeout")
    return ProxyError(502, failure.reason or f"upstream failed with status {failure.status}", code="upstream_error")


def upstream_headers(response):
    return [(name, response.headers[name]) for name in PASSED_UPSTREAM_HEADERS if name in response.headers]


async def send_to_targets(ctx, targets, build_request, *, flex_endpoint=False):
    """Open the first target that answers; return (target, response, upstream start time).

    Each target gets the upstream client's retries; on a final 429/5xx/fault the next fallback is
    tried. A target without a usable provider key is skipped, except the primary, which is a 401.
    `build_request(target, provider_key, tier)` builds the request for a tier: "flex" only on an
    endpoint with a flex tier (`flex_endpoint`, chat completions), see proxy/forward/tiers.py. The
    tier that answered goes on the record. One deadline, a first-byte timeout from now, covers every
    target, tier and retry: the client never waits for more than one timeout.
    """
    last_failure = None
    deadline = asyncio.get_running_loop().time() + settings.OPTERA_UPSTREAM_FIRST_BYTE_TIMEOUT
    for position, target in enumerate(targets):
        provider_key = ctx.provider_key(target.provider, primary=position == 0)
        if not provider_key:
            if position == 0:
                ctx.require_provider_key(target.provider)
            continue
        tier = await tier_for(ctx, target) if flex_endpoint else STANDARD
        request = build_request(target, provider_key, tier)
        ctx.record.model_used, ctx.record.provider = target.model, target.provider
        ctx.record.provider_cache_ttl = request.prompt_cache_ttl or ""
        started = time.perf_counter()
        try:
            ctx.record.tier, response = await send_on_tier(
                ctx.runtime.upstream,
                request,
                tier=tier,
                standard_request=lambda: build_request(target, provider_key, STANDARD),
                deadline=deadline,
            )
        except UpstreamFailure as failure:
            ctx.record.upstream_seconds += time.perf_counter() - started
            last_failure = failure
            continue
        return target, response, started
    raise failure_to_error(last_failure or UpstreamFailure(502, reason="no provider could be reached"))


async def pass_error_through(ctx, response, started, error_body):
    """Give the client a non-retryable upstream error (4xx) with its status, in the API's shape."""
    raw = await response.read()
    ctx.record.upstream_seconds += time.perf_counter() - started
    error = ProxyError(
        response.status, "upstream error", error_type="upstream_error", headers=upstream_headers(response)
    )
    error.raw_body = error_body(response.status, raw)
    raise error


async def relay_json(ctx, response, started, *, parse):
    """Read a whole answer, account it and send it as JSON with the cost header."""
    raw = await response.read()
    record = ctx.record
    record.upstream_seconds += time.perf_counter() - started
    try:
        body, parsed, usage = parse(raw)
    except (ValueError, TypeError, AttributeError, KeyError):
        raise ProxyError(
            502, "the provider answered with a body that is not a valid response", code="upstream_invalid_response"
        ) from None
    record.usage = Usage.from_openai(usage)
    await ctx.runtime.prices.account(record)
    record.status_code = 200
    headers = ctx.optera_headers() + [("x-optera-cost-usd", f"{record.cost_usd:f}")] + upstream_headers(response)
    if record.savings:
        headers.append(("x-optera-saved-usd", f"{sum(record.savings.values()):.8f}"))
    await ctx.responder.json(200, body, headers)
    return parsed


async def relay_stream(ctx, response, started, relay, *, prompt_body):
    """Forward a stream as it arrives; end it with an error event if the upstream breaks off.

    Returns the relay's outcome. A client hang-up cancels this coroutine: the upstream connection
    is closed at once, and the account stage prices the usage so far.
    """
    record = ctx.record
    ctx.relayed_stream = RelayedStream(outcome=relay.outcome, prompt_body=prompt_body)
    record.upstream_seconds += time.perf_counter() - started
    record.first_byte_ms = record.elapsed_ms()
    record.status_code = 200
    await ctx.responder.start_stream(200, ctx.optera_headers() + upstream_headers(response))
    failure = None
    try:
        waited_from = time.perf_counter()
        async for data in response.content.iter_any():
            record.upstream_seconds += time.perf_counter() - waited_from
            forwarded = relay.feed(data)
            if forwarded:
                await ctx.responder.chunk(forwarded)
            waited_from = time.perf_counter()
    except asyncio.CancelledError:
        response.close()
        record.status_code = 499
        record.error_type = "client_disconnected"
        raise
    except UpstreamStreamError as error:
        failure = ("upstream_error", error.message if hasattr(error, "message") else str(error))
    except (aiohttp.ClientError, TimeoutError) as error:
        failure = ("upstream_disconnected", f"the upstream stream broke off: {type(error).__name__}")
    if failure is None and not relay.outcome.finished:
        failure = ("upstream_disconnected", "the upstream stream ended before the answer was complete")
    if failure is not None:
        response.close()
        record.status_code = 502
        record.error_type = failure[0]
    if failure is not None:
        await ctx.responder.chunk(relay.error_event(*failure))
    await ctx.responder.finish()
    return relay.outcome
