"""Requests-per-minute limits per key: Redis when configured (shared by all processes), else in-process."""

import logging
import time

from optera.clients import REQUEST_PATH, redis_client
from proxy.errors import ProxyError
from proxy.memo import BoundedMemo

WINDOW_SECONDS = 60
LOCAL_MAX_KEYS = 100_000
logger = logging.getLogger(__name__)


class RateLimiter:
    """Fixed one-minute windows; a Redis failure lets requests through rather than failing them."""

    def __init__(self):
        # Sized for many keys: a memo that fills up forgets every count, letting each key start afresh.
        self._windows = BoundedMemo(ttl_seconds=WINDOW_SECONDS, max_entries=LOCAL_MAX_KEYS)
        self._redis = redis_client(REQUEST_PATH, asynchronous=True)

    async def check(self, *, api_key_id, limit):
        window = int(time.time() // WINDOW_SECONDS)
        count = await self._count(api_key_id, window)
        if count > limit:
            retry_after = WINDOW_SECONDS - int(time.time() % WINDOW_SECONDS)
            raise ProxyError(
                429,
                f"rate limit of {limit} requests per minute reached for this key",
                code="rate_limit_exceeded",
                headers=[("retry-after", str(max(retry_after, 1)))],
            )

    async def _count(self, api_key_id, window):
        if self._redis is not None:
            key = f"optera:rl:{api_key_id}:{window}"
            try:
                async with self._redis.pipeline(transaction=False) as pipe:
                    pipe.incr(key)
                    pipe.expire(key, WINDOW_SECONDS * 2)
                    count, _ = await pipe.execute()
                return count
            except Exception:  # Redis down must not take the proxy down; fall back to local counting.
                logger.warning("rate limiter: Redis unavailable, counting in-process")
        current_window, count = self._windows.get(api_key_id, (window, 0))
        count = count + 1 if current_window == window else 1
        self._windows.put(api_key_id, (window, count))
        return count
