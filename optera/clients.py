"""The one factory for clients of outside services (Redis, the upstream HTTP pool), with their timeouts.

Each caller names what it needs the client for; the timeouts belong to that purpose, so a Redis
outage costs the request path a quarter of a second at most and never hangs it.
"""

from dataclasses import dataclass

from django.conf import settings


@dataclass(frozen=True)
class RedisTimeouts:
    connect_seconds: float
    read_seconds: float


# The request path (cache hot tier, rate limits, single-flight locks) gives up fast and carries on
# without Redis; a probe answers a load balancer within a second; batch work (purges) can wait.
REQUEST_PATH = RedisTimeouts(connect_seconds=0.25, read_seconds=0.25)
# Quota and budget counters wait longer: a take that times out is counted in PostgreSQL instead, a
# second counter the other requests never see, so a busy event loop (a burst's own work can stall
# it past 0.25 s) would let a burst past a budget. A refused connection still fails at once.
COUNTERS = RedisTimeouts(connect_seconds=1.0, read_seconds=1.0)
PROBE = RedisTimeouts(connect_seconds=0.5, read_seconds=0.5)
BATCH = RedisTimeouts(connect_seconds=2, read_seconds=5)


def redis_client(timeouts, *, asynchronous=False):
    """Return a Redis client for REDIS_URL with these timeouts, or None when Redis is not configured."""
    if not settings.REDIS_URL:
        return None
    if asynchronous:
        import redis.asyncio as redis_module
    else:
        import redis as redis_module
    return redis_module.Redis.from_url(
        settings.REDIS_URL, socket_connect_timeout=timeouts.connect_seconds, socket_timeout=timeouts.read_seconds
    )


def redis_delete_matching(client, pattern, *, only=None, batch_size=500):
    """Delete every Redis key matching `pattern` (and the predicate `only`, given the key as text).

    SCAN, then DEL in batches, so a large keyspace is never blocked; return how many keys went.
    """
    deleted = 0
    batch = []
    for key in client.scan_iter(match=pattern, count=1000):
        if only is not None and not only(key.decode()):
            continue
        batch.append(key)
        if len(batch) >= batch_size:
            deleted += client.delete(*batch)
            batch = []
    if batch:
        deleted += client.delete(*batch)
    return deleted


def upstream_http_session():
    """Return the pooled aiohttp session for provider calls (call inside the event loop that will use it)."""
    import aiohttp

    connector = aiohttp.TCPConnector(limit=2000, limit_per_host=0, ttl_dns_cache=300, keepalive_timeout=60)
    timeout = aiohttp.ClientTimeout(
        total=None,
        sock_connect=settings.OPTERA_UPSTREAM_CONNECT_TIMEOUT,
        sock_read=settings.OPTERA_UPSTREAM_IDLE_TIMEOUT,
    )
    return aiohttp.ClientSession(connector=connector, timeout=timeout, auto_decompress=True)
