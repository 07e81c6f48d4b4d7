"""Background jobs of billing: each loads by id and calls a service."""

import functools
import logging

import httpx
import stripe
from celery import shared_task
from django.db import transaction
from djstripe.models import Event

from billing import alerts, services
from billing.models import WebhookDelivery

logger = logging.getLogger(__name__)


# Stripe unreachable, failing or rate-limiting: worth retrying. A refusal (no such subscription) is not.
STRIPE_TRANSIENT_ERRORS = (stripe.APIConnectionError, stripe.APIError, stripe.RateLimitError)


@shared_task(
    ignore_result=True, autoretry_for=STRIPE_TRANSIENT_ERRORS, retry_backoff=True, retry_backoff_max=600, max_retries=10
)
def stripe_event_apply(event_id):
    event = Event.objects.filter(id=event_id).first()
    if event is not None:
        services.stripe_event_apply(event=event)


def stripe_event_apply_enqueue(*, event_id):
    """Enqueue an event's effect; with the broker down, apply it here rather than lose it.

    The event is recorded by now, so a redelivery from Stripe would find it and run nothing.
    """
    try:
        stripe_event_apply.delay(event_id)
    except Exception:
        logger.warning("Stripe event %s: not enqueued, applied in the request", event_id, exc_info=True)
        try:
            stripe_event_apply(event_id)
        except Exception:
            logger.exception("Stripe event %s: not applied", event_id)


@shared_task(
    ignore_result=True, autoretry_for=STRIPE_TRANSIENT_ERRORS, retry_backoff=True, retry_backoff_max=600, max_retries=10
)
def subscription_cancel(subscription_id):
    services.subscription_cancel(subscription_id=subscription_id)


def deleted_workspace_subscription_cancel(sender, *, workspace_id, **kwargs):
    """Cancel a deleting workspace's subscription once the deletion commits (a `workspace_deleting` receiver).

    The subscription's id is read now, inside the deletion's transaction: the purge may remove the
    plan row before the task runs. With the broker down the call is made here instead, so no charge follows.
    """
    subscription_id = services.subscription_to_cancel(workspace_id=workspace_id)
    if subscription_id is not None:
        transaction.on_commit(functools.partial(_subscription_cancel_enqueue, subscription_id))


def purged_workspace_counters_forget(sender, *, workspace_id, **kwargs):
    """Delete a purged workspace's counters and alert claims (a `workspace_purging` receiver)."""
    services.workspace_counters_forget(workspace_id=workspace_id)


def _subscription_cancel_enqueue(subscription_id):
    try:
        subscription_cancel.delay(subscription_id)
    except Exception:
        logger.warning("subscription %s: cancellation not enqueued, made here", subscription_id, exc_info=True)
        try:
            services.subscription_cancel(subscription_id=subscription_id)
        except Exception:
            logger.exception("Stripe subscription %s not cancelled", subscription_id)


@shared_task(ignore_result=True)
def budget_threshold_alert(budget_id, threshold, period):
    """Alert once that a budget crossed 80 % or 100 % in a period; its webhook is delivered by its own task."""
    delivery = alerts.budget_threshold_alert(budget_id=budget_id, threshold=threshold, period=period)
    if delivery is not None:
        webhook_deliver.delay(delivery.pk)


@shared_task(
    ignore_result=True,
    autoretry_for=(httpx.HTTPError,),
    retry_backoff=True,
    retry_backoff_max=3600,
    max_retries=8,
)
def webhook_deliver(delivery_id):
    delivery = (
        WebhookDelivery.objects.select_related("webhook").filter(pk=delivery_id, delivered_at__isnull=True).first()
    )
    if delivery is not None:
        alerts.webhook_deliver(delivery=delivery)
