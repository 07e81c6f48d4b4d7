"""Liveness and readiness probes."""

from asgiref.sync import sync_to_async
from django.conf import settings
from django.db import InterfaceError, OperationalError, close_old_connections, connection
from django.http import JsonResponse
from redis.exceptions import RedisError

from optera.clients import PROBE, redis_client


async def healthz(request):
    """Answer while the process serves requests; touches nothing else."""
    return JsonResponse({"status": "ok"})


def _check_database():
    # A backend that crashed leaves this thread's connection dead; a probe must open a fresh one, not fail forever.
    close_old_connections()
    with connection.cursor() as cursor:
        cursor.execute("SELECT extversion FROM pg_extension WHERE extname = 'vector'")
        if cursor.fetchone() is None:
            raise RuntimeError("the vector extension is not installed")


def _check_redis():
    client = redis_client(PROBE)
    try:
        client.ping()
    finally:
        client.close()


async def readiness(*, semantic_cache_off_reason=None):
    """Return (HTTP status, body): "ok", "degraded" naming what is missing, or 503 "unavailable".

    Without Redis the proxy serves on (the cache, limits and locks fall back), and without the
    database it serves the keys it has seen recently: both are "degraded" with a 200, so a load
    balancer does not take every instance out during an outage that they ride through. A database
    without the vector extension is a broken deployment: 503. A process whose semantic cache
    switched itself off is degraded too.
    """
    checks = {"database": _check_database}
    if settings.REDIS_URL:
        checks["redis"] = _check_redis
    results = {}
    broken = False
    for name, check in checks.items():
        try:
            await sync_to_async(check, thread_sensitive=False)()
            results[name] = "ok"
        except (OperationalError, InterfaceError, RedisError, OSError) as error:  # unreachable: ridden through
            results[name] = f"error: {type(error).__name__}"
        except Exception as error:  # a probe reports every failure instead of raising
            results[name] = f"error: {type(error).__name__}"
            broken = True
    if broken:
        return 503, {"status": "unavailable", "checks": results}
    if semantic_cache_off_reason:
        results["semantic_cache"] = f"off: {semantic_cache_off_reason}"
    degraded = any(result != "ok" for result in results.values())
    return 200, {"status": "degraded" if degraded else "ok", "checks": results}
