"""Budget alerts: at 80 % and 100 % of a budget, once per budget, threshold and period, by email and webhook.

Webhook bodies are JSON signed like Stripe's: `X-Optera-Signature: t=UNIX_SECONDS,v1=HEX`, where
HEX is HMAC-SHA256 of "{t}.{body}" under the workspace's webhook secret. A URL must be http(s) to
a public address: the worker posts wherever a customer points it, so private and loopback hosts are
refused unless the operator allows them (OPTERA_WEBHOOK_ALLOW_PRIVATE, for tests and private networks).
"""

import hashlib
import hmac
import ipaddress
import logging
import secrets
import socket
import time
from urllib.parse import urlsplit

import httpx
import orjson
from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from billing.budgets import MICRO_USD
from billing.models import AlertSent, Budget, Webhook, WebhookDelivery
from billing.selectors import counter_used

DELIVERY_TIMEOUT_SECONDS = 5
logger = logging.getLogger(__name__)


class InvalidWebhook(ValueError):
    """A webhook URL the worker must not post to."""


def webhook_set(*, workspace, url):
    """Set the workspace's webhook URL with a new secret; return (webhook, secret) — the secret is shown once."""
    webhook_url_check(url)
    secret = f"whsec_{secrets.token_hex(24)}"
    webhook, _ = Webhook.objects.update_or_create(workspace=workspace, defaults={"url": url, "secret": secret})
    return webhook, secret


def webhook_url_check(url):
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InvalidWebhook("the webhook URL must be http(s)://HOST/...")
    if settings.OPTERA_WEBHOOK_ALLOW_PRIVATE:
        return
    try:
        addresses = {info[4][0] for info in socket.getaddrinfo(parts.hostname, parts.port or 443)}
    except OSError:
        raise InvalidWebhook(f"the webhook host {parts.hostname} does not resolve") from None
    for address in addresses:
        ip = ipaddress.ip_address(address.split("%")[0])
        if ip.is_private or ip.is_loopback or ip.is_link_local or ip.is_reserved or ip.is_multicast:
            raise InvalidWebhook(f"the webhook host {parts.hostname} is not a public address")


def signature_header(secret, body, *, timestamp=None):
    timestamp = int(timestamp or time.time())
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


def budget_threshold_alert(*, budget_id, threshold, period):
    """Alert the workspace's owners and admins and its webhook, once per budget, threshold and period."""
    budget = Budget.objects.select_related("workspace").filter(pk=budget_id).first()
    if budget is None:
        return None
    try:
        with transaction.atomic():
            AlertSent.objects.create(key=f"budget:{budget_id}:{period}:{threshold}")
    except IntegrityError:
        return None  # sent already (a task delivered twice, or two processes crossing together)
    spent = counter_used(f"budget:{budget.pk}:{period}") / MICRO_USD
    payload = {
        "type": "budget.threshold",
        "workspace_id": budget.workspace_id,
        "scope": budget.scope,
        "scope_value": budget.scope_value,
        "threshold": threshold,
        "spend_usd": str(spent),
        "budget_usd": str(budget.usd),
        "period": budget.period,
        "period_label": period,
        "hard": budget.hard,
    }
    _email_managers(budget, threshold, spent, period)
    webhook = Webhook.objects.filter(workspace_id=budget.workspace_id).first()
    if webhook is None:
        return None
    return WebhookDelivery.objects.create(webhook=webhook, event_type=payload["type"], payload=payload)


def webhook_deliver(*, delivery):
    """POST one delivery, signed; raise on a network error or a 5xx so the task retries with backoff."""
    body = orjson.dumps(delivery.payload)
    headers = {
        "Content-Type": "application/json",
        "X-Optera-Signature": signature_header(delivery.webhook.secret, body),
        "X-Optera-Event": delivery.event_type,
    }
    delivery.attempts += 1
    try:
        webhook_url_check(delivery.webhook.url)
        response = httpx.post(
            delivery.webhook.url,
            content=body,
            headers=headers,
            timeout=DELIVERY_TIMEOUT_SECONDS,
            follow_redirects=False,
        )
    except (httpx.HTTPError, InvalidWebhook) as error:
        delivery.error = f"{type(error).__name__}"[:200]
        delivery.save(update_fields=["attempts", "error"])
        raise
    delivery.status_code = response.status_code
    delivery.error = ""
    if response.status_code < 300:
        delivery.delivered_at = timezone.now()
    delivery.save(update_fields=["attempts", "status_code", "error", "delivered_at"])
    if response.status_code >= 500:
        raise httpx.HTTPStatusError("webhook endpoint failed", request=response.request, response=response)


def _email_managers(budget, threshold, spent, period):
    from accounts import emails
    from accounts.models import Membership

    managers = Membership.objects.filter(workspace_id=budget.workspace_id, role__in=("owner", "admin")).select_related(
        "user"
    )
    for membership in managers:
        if not membership.user.email:
            continue
        emails.email_send(
            to=membership.user.email,
            template="budget_threshold",
            context={
                "workspace_name": budget.workspace.name,
                "budget": budget.describe(),
                "threshold": threshold,
                "spent": f"{spent:.4f}",
                "period": period,
                "hard": budget.hard,
            },
            # Once per person for this budget, period and threshold, even if AlertSent was lost with a rollback.
            idempotency_key=f"budget:{budget.pk}:{period}:{threshold}:{membership.user_id}",
        )


def webhook_delete(*, workspace):
    """Stop sending the workspace's alerts anywhere; return whether it had a webhook."""
    deleted, _ = Webhook.objects.filter(workspace=workspace).delete()
    return bool(deleted)
