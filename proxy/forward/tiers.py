"""OpenAI's flex tier: half price where the model offers it, and the standard tier when flex fails to answer.

A request asks for flex with `X-Optera-Tier: flex` or its workspace's `tier` option. It is sent on
flex only where its provider has a synchronous flex tier and the price table has flex prices for
the model; anywhere else it goes standard, without an error. When the provider refuses flex (429
`resource_unavailable`: no capacity now) or sends no first byte within OPTERA_FLEX_FIRST_BYTE_TIMEOUT,
the request is sent once on the standard tier. Only the answer that is relayed is logged and priced,
so a request is never counted twice.
"""

import logging

import orjson
from django.conf import settings

from accounts.models import ServiceTier
from proxy.errors import UpstreamFailure
from proxy.providers import provider_named

FLEX = ServiceTier.FLEX.value
STANDARD = ServiceTier.STANDARD.value
FLEX_REFUSAL = "resource_unavailable"
logger = logging.getLogger(__name__)


async def tier_for(ctx, target):
    """Return the tier to send `target` on: flex where the request asks for it and the model offers it."""
    if ctx.options.tier != FLEX or not provider_named(target.provider).FLEX_TIER:
        return STANDARD
    price = await ctx.runtime.prices.price(target.provider, target.model)
    return FLEX if price is not None and price.offers_flex else STANDARD


def is_flex_refusal(failure):
    """Return True for a 429 whose error type or code is `resource_unavailable`."""
    if failure.status != 429:
        return False
    try:
        error = orjson.loads(failure.body).get("error")
    except (orjson.JSONDecodeError, AttributeError):
        return False
    return isinstance(error, dict) and FLEX_REFUSAL in (error.get("type"), error.get("code"))


def _ends_flex(failure):
    return failure.timed_out or is_flex_refusal(failure)


async def send_on_tier(upstream, request, *, tier, standard_request, deadline=None):
    """Send `request`, built for `tier`; return (the tier that answered, the response).

    A flex request that is refused or slow is not retried on flex: `standard_request()` builds it
    for the standard tier, where it goes once, with the usual retries. Any other failure is the
    caller's, as on the standard tier. Both attempts end by the request's `deadline`.
    """
    if tier != FLEX:
        return tier, await upstream.send(request, deadline=deadline)
    wait = min(settings.OPTERA_FLEX_FIRST_BYTE_TIMEOUT, settings.OPTERA_UPSTREAM_FIRST_BYTE_TIMEOUT)
    try:
        return FLEX, await upstream.send(request, first_byte_timeout=wait, final=_ends_flex, deadline=deadline)
    except UpstreamFailure as failure:
        if not _ends_flex(failure):
            raise
        logger.info("flex tier %s; sending on the standard tier", "too slow" if failure.timed_out else "refused")
    return STANDARD, await upstream.send(standard_request(), deadline=deadline)
