from celery import shared_task

from cachestore import services


@shared_task(ignore_result=True)
def cache_entries_expire():
    """Delete expired cache entries in batches (expired entries are never served in between)."""
    return services.cache_entries_expire()
