"""The one pooled HTTP client every upstream call goes through, with timeouts and retries.

aiohttp rather than httpx: on this machine it costs a fraction of httpx's CPU per request
(see docs/benchmarks.md), and the client is the largest share of the proxy's own work.
"""

import asyncio
import email.utils
import math
import random
import time

import aiohttp
from django.conf import settings

from optera.clients import upstream_http_session
from proxy.errors import UpstreamFailure

RETRYABLE_STATUSES = frozenset({408, 409, 429, 500, 502, 503, 504, 529})
BASE_BACKOFF_SECONDS = 0.25


def retry_delay(attempt, retry_after, *, cap):
    """Return seconds to wait before the next attempt, or None when the provider asks for longer than `cap`."""
    if retry_after:
        seconds = _parse_retry_after(retry_after)
        if seconds is not None:
            return None if seconds > cap else seconds
    # Full jitter around an exponential base keeps retries of many clients from lining up.
    return BASE_BACKOFF_SECONDS * (2**attempt) * random.uniform(0.5, 1.5)


def _parse_retry_after(value):
    try:
        seconds = float(value)
    except ValueError:
        pass
    else:
        # "nan" and "inf" parse as floats; an upstream that sends them gets the default backoff.
        return max(seconds, 0.0) if math.isfinite(seconds) else None
    try:
        moment = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(moment.timestamp() - time.time(), 0.0)


class UpstreamClient:
    """Owns the aiohttp session of this process (created on first use, inside the event loop)."""

    def __init__(self):
        self._session = None

    def _get_session(self):
        if self._session is None or self._session.closed:
            self._session = upstream_http_session()
        return self._session

    def prepare(self):
        """Make the connection pool now rather than on the first request."""
        self._get_session()

    async def close(self):
        if self._session is not None and not self._session.closed:
            await self._session.close()

    async def get(self, url, headers):
        return await self._get_session().get(url, headers=headers)

    async def open(self, request, *, first_byte_timeout=None):
        """Send `request` and return the response once its headers arrive (first-byte timeout applies)."""
        session = self._get_session()
        async with asyncio.timeout(first_byte_timeout or settings.OPTERA_UPSTREAM_FIRST_BYTE_TIMEOUT):
            return await session.post(request.url, data=request.body, headers=request.headers)

    async def send(self, request, *, first_byte_timeout=None, final=None, deadline=None):
        """Return a response that is not worth retrying; retry what is safe to send again, up to the limit.

        Retried: a connection that failed before the request went out, and a 429/5xx answer that does
        not say otherwise (`x-should-retry: false`). Never retried: a timeout or a dropped connection
        once the request may have reached the provider, which could be generating (and billing) it.
        Every attempt and every wait ends by `deadline` (the event loop's clock; by default one
        first-byte timeout from now), so retries never make the client wait longer than one timeout.

        Raises UpstreamFailure when the retries are spent (or the provider asks to wait longer than
        the cap or the deadline allows), so the caller can try a fallback model or answer with the
        last failure. A failure for which `final(failure)` is true is raised at once: the caller has
        a better remedy than a retry.
        """
        loop = asyncio.get_running_loop()
        first_byte_timeout = first_byte_timeout or settings.OPTERA_UPSTREAM_FIRST_BYTE_TIMEOUT
        if deadline is None:
            deadline = loop.time() + first_byte_timeout
        attempt = 0
        while True:
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise UpstreamFailure(504, reason="upstream did not answer in time", timed_out=True)
            failure, response = await self._attempt(request, min(first_byte_timeout, remaining))
            if response is not None:
                return response
            if not failure.retryable or attempt >= settings.OPTERA_UPSTREAM_MAX_RETRIES:
                raise failure
            if final is not None and final(failure):
                raise failure
            delay = retry_delay(
                attempt, failure.headers.get("retry-after"), cap=settings.OPTERA_RETRY_AFTER_CAP_SECONDS
            )
            if delay is None or delay >= deadline - loop.time():
                raise failure
            await asyncio.sleep(delay)
            attempt += 1

    async def _attempt(self, request, timeout):
        """Send once; return (None, response) or (the failure, None), the failure marked retryable or not."""
        try:
            response = await self.open(request, first_byte_timeout=timeout)
        except (aiohttp.ClientConnectorError, aiohttp.ConnectionTimeoutError) as error:
            # No connection was made: the provider never saw the request.
            reason = f"upstream connection failed: {type(error).__name__}"
            return UpstreamFailure(502, reason=reason, retryable=True), None
        except TimeoutError:
            return UpstreamFailure(504, reason="upstream did not answer in time", timed_out=True), None
        except aiohttp.ClientError as error:
            # Dropped after the request was written (or while writing it): the provider may have it.
            return UpstreamFailure(502, reason=f"upstream connection failed: {type(error).__name__}"), None
        if response.status not in RETRYABLE_STATUSES:
            return None, response
        try:
            body = await response.read()
        except aiohttp.ClientError:
            body = b""
        response.release()
        headers = {name.lower(): value for name, value in response.headers.items()}
        # OpenAI's and Anthropic's own SDKs obey this header; so does Optera.
        retryable = headers.get("x-should-retry", "").lower() != "false"
        return UpstreamFailure(response.status, body, headers, retryable=retryable), None
