"""Liveness and readiness probes."""

from asgiref.sync import sync_to_async
from django.conf import settings
from django.db import close_old_connections, connection
from django.http import JsonResponse

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
    """Return (HTTP status, body): 503 naming what failed when the database or Redis do not answer.

    A process whose semantic cache switched itself off still serves (forwarding and exact hits),
    so it stays ready (200) and says "degraded" with the reason.
    """
    checks = {"database": _check_database}
    if settings.REDIS_URL:
        checks["redis"] = _check_redis
    results = {}
    for name, check in checks.items():
        try:
            await sync_to_async(check, thread_sensitive=False)()
            results[name] = "ok"
        except Exception as error:  # a probe reports every failure instead of raising
            results[name] = f"error: {type(error).__name__}"
    if not all(result == "ok" for result in results.values()):
        return 503, {"status": "unavailable", "checks": results}
    if semantic_cache_off_reason:
        results["semantic_cache"] = f"off: {semantic_cache_off_reason}"
        return 200, {"status": "degraded", "checks": results}
    return 200, {"status": "ok", "checks": results}
