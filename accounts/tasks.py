"""Background jobs of accounts: each loads by id and calls a service.

Services never import this module, which imports them: a deletion's purge is enqueued on the
`accounts.signals.workspace_deleted` signal (connected in accounts.apps), `api_key_mark_used` by
the proxy.
"""

import logging

from celery import shared_task
from django.utils.dateparse import parse_datetime

from accounts import services

logger = logging.getLogger(__name__)


@shared_task(ignore_result=True)
def api_key_mark_used(api_key_id, used_at):
    services.api_key_mark_used(api_key_id=api_key_id, used_at=parse_datetime(used_at))


@shared_task(ignore_result=True)
def quota_threshold_notify(workspace_id, quota, threshold, period):
    """Email the workspace's owners and admins that a plan quota reached 80 % or 100 % (the proxy enqueues it)."""
    services.quota_threshold_notify(workspace_id=workspace_id, quota=quota, threshold=threshold, period=period)


@shared_task(ignore_result=True)
def workspace_purge(workspace_id):
    services.workspace_purge(workspace_id=workspace_id)


@shared_task(ignore_result=True)
def workspaces_purge_deleted():
    services.workspaces_purge_deleted()


def workspace_purge_enqueue(sender, *, workspace_id, **kwargs):
    """Enqueue the purge of a workspace whose deletion has committed (a `workspace_deleted` receiver)."""
    try:
        workspace_purge.delay(workspace_id)
    except Exception:  # the broker being down must not fail the deletion; the hourly sweep purges it
        logger.warning("workspace %s: purge not enqueued", workspace_id, exc_info=True)
