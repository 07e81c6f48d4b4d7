"""Background jobs of billing: each loads by id and calls a service."""

import httpx
from celery import shared_task

from billing import alerts
from billing.models import WebhookDelivery


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
