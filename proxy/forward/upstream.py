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

    async def send(self, request, *, first_byte_timeout=None, final=None):
        """Return a response that is not worth retrying, retrying 429/5xx/connect faults up to the limit.

        Raises UpstreamFailure when the retries are spent (or the provider asks to wait longer than
        the cap), so the caller can try a fallback model or answer with the last failure. A failure
        for which `final(failure)` is true is raised at once: the caller has a better remedy than a retry.
        """
        attempt = 0
        while True:
            try:
                response = await self.open(request, first_byte_timeout=first_byte_timeout)
            except TimeoutError:
                failure = UpstreamFailure(504, reason="upstream did not answer in time", timed_out=True)
            except aiohttp.ClientError as error:
                failure = UpstreamFailure(502, reason=f"upstream connection failed: {type(error).__name__}")
            else:
                if response.status not in RETRYABLE_STATUSES:
                    return response
                try:
                    body = await response.read()
                except aiohttp.ClientError:
                    body = b""
                response.release()
                failure = UpstreamFailure(
                    response.status, body, {name.lower(): value for name, value in response.headers.items()}
                )
            if attempt >= settings.OPTERA_UPSTREAM_MAX_RETRIES or (final is not None and final(failure)):
                raise failure
            delay = retry_delay(
                attempt, failure.headers.get("retry-after"), cap=settings.OPTERA_RETRY_AFTER_CAP_SECONDS
            )
            if delay is None:
                raise failure
            await asyncio.sleep(delay)
            attempt += 1
