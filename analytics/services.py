"""Writes for request logs and prices."""

from datetime import timedelta

from django.db.models import F
from django.utils import timezone

from analytics.models import RequestLog
from optera.db.batches import delete_in_batches

EXPIRY_BATCH_SIZE = 5000


def request_logs_expire(*, batch_size=EXPIRY_BATCH_SIZE, now=None):
    """Delete logs older than their workspace's retention, `batch_size` rows at a time."""
    now = now or timezone.now()
    # Older than the workspace's retention, compared in SQL per row.
    expired = RequestLog.objects.filter(
        created_at__lt=now - timedelta(days=1) * F("workspace__settings__retention_days")
    )
    return delete_in_batches(expired, batch_size=batch_size)


def request_logs_delete_for_workspace(*, workspace_id, batch_size=EXPIRY_BATCH_SIZE):
    """Delete every request log of a workspace, `batch_size` rows at a time."""
    return delete_in_batches(RequestLog.objects.filter(workspace_id=workspace_id), batch_size=batch_size)
