"""Writes for request logs and prices."""

from datetime import timedelta

from django.db.models import F
from django.utils import timezone

from analytics.models import RequestLog

EXPIRY_BATCH_SIZE = 5000


def request_logs_expire(*, batch_size=EXPIRY_BATCH_SIZE, now=None):
    """Delete logs older than their workspace's retention, `batch_size` rows at a time."""
    now = now or timezone.now()
    deleted_total = 0
    while True:
        # Older than the shortest possible retention, then filtered per workspace in SQL.
        expired_ids = list(
            RequestLog.objects.filter(
                created_at__lt=now - timedelta(days=1) * F("workspace__settings__retention_days")
            ).values_list("pk", flat=True)[:batch_size]
        )
        if not expired_ids:
            return deleted_total
        deleted, _ = RequestLog.objects.filter(pk__in=expired_ids).delete()
        deleted_total += deleted
