"""Background jobs of accounts: each loads by id and calls a service.

Services never import this module at import time, since it imports them: a deletion's purge is
enqueued on the `accounts.signals.workspace_deleted` signal (connected in accounts.apps),
`api_key_mark_used` and `quota_threshold_notify` by the proxy, an email's delivery on the
`accounts.signals.email_queued` signal.
"""

import logging

from celery import shared_task
from django.utils.dateparse import parse_datetime

from accounts import emails, services

logger = logging.getLogger(__name__)


@shared_task(ignore_result=True)
def api_key_mark_used(api_key_id, used_at):
    services.api_key_mark_used(api_key_id=api_key_id, used_at=parse_datetime(used_at))


@shared_task(ignore_result=True)
def quota_threshold_notify(workspace_id, quota, threshold, period):
    """Email the workspace's owners and admins that a plan quota reached 80 % or 100 % (the proxy enqueues it)."""
    services.quota_threshold_notify(workspace_id=workspace_id, quota=quota, threshold=threshold, period=period)


@shared_task(
    bind=True,
    ignore_result=True,
    autoretry_for=(emails.EmailDeliveryDeferred,),
    # Waits capped at 30 s, 1 min, 2 min, ... an hour, each drawn at random below its cap (jitter) so
    # that the retries of many emails do not arrive at once: eight retries span up to two hours.
    retry_backoff=30,
    retry_backoff_max=3600,
    retry_jitter=True,
    max_retries=8,
)
def email_deliver(self, email_id):
    """Send one recorded email through the email backend (Resend); retried while Resend is unreachable."""
    emails.email_deliver(email_id=email_id, last_attempt=self.request.retries >= self.max_retries)


@shared_task(ignore_result=True)
def emails_deliver_lost():
    emails.emails_deliver_lost()


@shared_task(ignore_result=True)
def workspace_purge(workspace_id):
    services.workspace_purge(workspace_id=workspace_id)


def email_deliver_enqueue(sender, *, email_id, **kwargs):
    """Enqueue the delivery of an email whose recording has committed (an `email_queued` receiver)."""
    try:
        email_deliver.delay(email_id)
    except Exception:  # the broker being down must not fail what asked for the email; the row stays queued
        logger.warning("email %s: delivery not enqueued, emails_deliver_lost sends it", email_id, exc_info=True)


def workspace_purge_enqueue(sender, *, workspace_id, **kwargs):
    """Enqueue the purge of a workspace whose deletion has committed (a `workspace_deleted` receiver)."""
    try:
        workspace_purge.delay(workspace_id)
    except Exception:  # the broker being down must not fail the deletion; the hourly sweep purges it
        logger.warning("workspace %s: purge not enqueued", workspace_id, exc_info=True)
