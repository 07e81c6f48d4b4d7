from celery import shared_task

from analytics import services


@shared_task(ignore_result=True)
def request_logs_expire():
    """Delete request logs past each workspace's retention period, in batches."""
    return services.request_logs_expire()
