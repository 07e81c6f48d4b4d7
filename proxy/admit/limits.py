"""Requests-per-minute limits: the workspace's (every key together) and a key's own, on the shared counters.

The operator's limit is the workspace's, so minting more keys does not raise it. Both are counted
through proxy/admit/counters.py, the mechanism of quotas and budgets: across every process, in
Redis when configured, else in blocks claimed from PostgreSQL. Windows are fixed UTC minutes.
"""

import datetime
import time

from billing import counter_keys
from proxy.errors import ProxyError

WINDOW_SECONDS = 60


class RateLimiter:
    def __init__(self, counters):
        self._counters = counters

    async def check(self, key_record):
        """Count the request against the key's limit, then the workspace's; raise 429 past either."""
        now = time.time()
        window = int(now // WINDOW_SECONDS)
        # Kept a window longer than it counts, so a late settle never meets a missing counter.
        expires_at = datetime.datetime.fromtimestamp((window + 2) * WINDOW_SECONDS, datetime.UTC)
        retry_after = max(WINDOW_SECONDS - int(now % WINDOW_SECONDS), 1)
        taken = []
        limits = [
            ("this key", counter_keys.key_rate(key_record.api_key_id, window), key_record.rate_limit_per_minute),
            (
                "this workspace",
                counter_keys.workspace_rate(key_record.workspace_id, window),
                key_record.settings.rate_limit_per_minute,
            ),
        ]
        for holder, counter_key, limit in limits:
            if limit is None:
                continue
            result = await self._counters.take(counter_key, 1, limit=limit, expires_at=expires_at)
            if not result.granted:
                # A refused request does not use up the key's share of the workspace's minute.
                for counter_taken in taken:
                    await self._counters.adjust(counter_taken, -1, expires_at=expires_at)
                raise ProxyError(
                    429,
                    f"rate limit of {limit} requests per minute reached for {holder}",
                    code="rate_limit_exceeded",
                    headers=[("retry-after", str(retry_after))],
                )
            taken.append(counter_key)
