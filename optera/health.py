"""Liveness and readiness probes."""

from asgiref.sync import sync_to_async
from django.conf import settings
from django.db import connection
from django.http import JsonResponse


async def healthz(request):
    """Answer while the process serves requests; touches nothing else."""
    return JsonResponse({"status": "ok"})


def _check_database():
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")


def _check_redis():
    import redis

    client = redis.Redis.from_url(settings.REDIS_URL, socket_connect_timeout=0.5, socket_timeout=0.5)
    try:
        client.ping()
    finally:
        client.close()


async def readyz(request):
    """Answer 200 when the database (and Redis, when configured) answer, else 503 naming which failed."""
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
    healthy = all(result == "ok" for result in results.values())
    return JsonResponse(
        {"status": "ok" if healthy else "unavailable", "checks": results}, status=200 if healthy else 503
    )
