"""Usage counters with a limit, shared by every proxy process: plan quotas now, budgets on the same mechanism.

A counter is named by its scope, measure and period ("ws:12:requests:2026-12") and counts whole
units (requests, or micro-dollars). `take` adds to it only if the result stays within the limit,
so concurrent requests at the boundary cannot overshoot:

- with Redis, one Lua script per request adds, checks and undoes atomically across processes;
- without Redis, a process claims a block of the limit from PostgreSQL (a conditional UPDATE that
  never passes the limit) and serves requests from that block in memory, so a request costs no
  query. Blocks are a sixteenth of what is left (at most MAX_BLOCK units), shrinking to one unit
  near the limit; what a process claimed but did not use counts as used until the period ends
  (at most a sixteenth of the remainder per process), so it refuses a little early, never late.
"""

import asyncio
import logging
import time
from dataclasses import dataclass

from billing import counter_keys
from billing.models import UsageCounter
from optera.clients import COUNTERS, redis_client
from proxy.db import DatabaseUnavailable, in_db_thread
from proxy.memo import BoundedMemo

MAX_BLOCK = 1_000_000
LEASE_SHARE = 16
REFUSAL_MEMO_SECONDS = 1.0
# KEYS[1] the counter; ARGV: amount, limit, expiry (unix seconds). Returns {granted 0/1, used after}.
TAKE_SCRIPT = """
local used = redis.call('INCRBY', KEYS[1], ARGV[1])
if used > tonumber(ARGV[2]) then
  used = redis.call('DECRBY', KEYS[1], ARGV[1])
  return {0, used}
end
redis.call('EXPIREAT', KEYS[1], ARGV[3])
return {1, used}
"""
logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Taken:
    granted: bool
    used: int  # the counter after this take (or as it stood, when refused); approximate without Redis


@dataclass
class Lease:
    """Units this process claimed from a PostgreSQL counter and has not used yet."""

    remaining: int = 0
    counter_used: int = 0  # the shared counter as of the last claim
    # After a refused claim, takes that the lease cannot cover are refused without a query until then
    # (time.monotonic()): a flood of requests past a limit must not become a flood of queries.
    refused_until: float = 0.0


class Counters:
    def __init__(self):
        self._redis = redis_client(COUNTERS, asynchronous=True)
        self._leases = BoundedMemo()
        self._claim_locks = BoundedMemo()

    async def take(self, key, amount, *, limit, expires_at):
        """Add `amount` to the counter if it stays within `limit`; say whether it did."""
        if self._redis is not None:
            try:
                granted, used = await self._redis.eval(
                    TAKE_SCRIPT, 1, counter_keys.redis_key(key), amount, limit, int(expires_at.timestamp())
                )
                return Taken(granted=bool(granted), used=int(used))
            except Exception as error:  # Redis away: count in PostgreSQL rather than let requests past the limit
                logger.warning("counters: Redis unavailable (%r), counting in PostgreSQL", error)
        return await self._take_from_lease(key, amount, limit=limit, expires_at=expires_at)

    async def adjust(self, key, amount, *, expires_at):
        """Add `amount` (negative to give back) without a limit: settling what a request really used."""
        if not amount:
            return
        if self._redis is not None:
            try:
                redis_key = counter_keys.redis_key(key)
                async with self._redis.pipeline(transaction=True) as pipe:
                    pipe.incrby(redis_key, amount)
                    pipe.expireat(redis_key, int(expires_at.timestamp()))
                    await pipe.execute()
                return
            except Exception:
                logger.warning("counters: Redis unavailable, settling in PostgreSQL")
        lease = self._leases.get(key)
        if lease is not None and lease.remaining - amount >= 0:
            lease.remaining -= amount  # giving back refills the lease; spending more draws on it
            return
        try:
            await in_db_thread(_add_unconditionally, key=key, amount=amount, expires_at=expires_at)
        except DatabaseUnavailable:
            if lease is None:
                lease = Lease()
                self._leases.put(key, lease)
            lease.remaining -= amount  # owed until PostgreSQL is back, like a take during an outage

    async def _take_from_lease(self, key, amount, *, limit, expires_at):
        lease = self._leases.get(key)
        if lease is None:
            lease = Lease()
            self._leases.put(key, lease)
        if lease.remaining >= amount:
            lease.remaining -= amount
            return Taken(granted=True, used=lease.counter_used - lease.remaining)
        if time.monotonic() < lease.refused_until:
            return Taken(granted=False, used=lease.counter_used - lease.remaining)
        lock = self._claim_locks.get(key)
        if lock is None:
            lock = asyncio.Lock()
            self._claim_locks.put(key, lock)
        async with lock:
            if lease.remaining >= amount:  # another request of this process claimed meanwhile
                lease.remaining -= amount
                return Taken(granted=True, used=lease.counter_used - lease.remaining)
            wanted = amount - lease.remaining
            block = max(wanted, min(MAX_BLOCK, (limit - lease.counter_used) // LEASE_SHARE))
            try:
                claimed, counter_used = await in_db_thread(
                    _claim, key=key, wanted=wanted, block=block, limit=limit, expires_at=expires_at
                )
            except DatabaseUnavailable:
                # PostgreSQL away: serve rather than refuse. The units are owed (a negative lease)
                # and claimed with the next block once it is back.
                lease.remaining -= amount
                return Taken(granted=True, used=lease.counter_used - lease.remaining)
            lease.counter_used = counter_used
            if not claimed:
                lease.refused_until = time.monotonic() + REFUSAL_MEMO_SECONDS
                return Taken(granted=False, used=counter_used - lease.remaining)
            lease.remaining += claimed - amount
            return Taken(granted=True, used=counter_used - lease.remaining)


def _claim(*, key, wanted, block, limit, expires_at):
    """Claim up to `block` units (at least `wanted`) within `limit`; return (units claimed, counter after)."""
    from django.db import connection

    table = UsageCounter._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (key, used, expires_at) VALUES (%s, 0, %s) ON CONFLICT (key) DO NOTHING",
            [key, expires_at],
        )
        cursor.execute(
            f"""
            WITH current AS (SELECT used FROM {table} WHERE key = %(key)s FOR UPDATE)
            UPDATE {table} AS counter SET used = LEAST(current.used + %(block)s, %(limit)s)
            FROM current WHERE counter.key = %(key)s AND current.used + %(wanted)s <= %(limit)s
            RETURNING counter.used - current.used, counter.used
            """,
            {"key": key, "block": block, "limit": limit, "wanted": wanted},
        )
        row = cursor.fetchone()
        if row is not None:
            return row[0], row[1]
        cursor.execute(f"SELECT used FROM {table} WHERE key = %s", [key])
        return 0, cursor.fetchone()[0]


def _add_unconditionally(*, key, amount, expires_at):
    from django.db import connection

    table = UsageCounter._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (key, used, expires_at) VALUES (%s, %s, %s) "
            f"ON CONFLICT (key) DO UPDATE SET used = GREATEST({table}.used + EXCLUDED.used, 0)",
            [key, amount, expires_at],
        )
