"""What Optera adds to dj-stripe's webhook: the plan effect of six events, and a closed back door.

dj-stripe's view (/stripe/webhook/<uuid>/) checks the `Stripe-Signature` header against the
endpoint's secret and a five-minute tolerance, records the event under its id, re-fetches the
object from Stripe and then runs the receivers below, in one transaction. Its check for an event
seen before comes ahead of the insert, so the same event delivered twice at once can run them
twice: the receiver claims the event first (`services.stripe_event_claim`) and enqueues the
effect only when the claim is its own.
"""

import functools

from django.db import transaction
from djstripe.models import Event, WebhookEventTrigger
from djstripe.signals import WEBHOOK_SIGNALS, webhook_pre_validate

from billing import services, tasks

PLAN_EVENTS = (
    "checkout.session.completed",
    "customer.subscription.created",
    "customer.subscription.updated",
    "customer.subscription.deleted",
    "invoice.paid",
    "invoice.payment_failed",
)
SECRET_OVERRIDE_HEADER = "x-djstripe-webhook-secret"


def connect():
    for event_type in PLAN_EVENTS:
        WEBHOOK_SIGNALS[event_type].connect(plan_event_recorded, sender=Event, dispatch_uid=f"billing:{event_type}")
    webhook_pre_validate.connect(secret_override_refused, sender=WebhookEventTrigger, dispatch_uid="billing:secret")


def plan_event_recorded(sender, event, **kwargs):
    """Enqueue the event's effect once its record commits (a rolled-back event enqueues nothing), once per event."""
    if services.stripe_event_claim(event=event):
        transaction.on_commit(functools.partial(tasks.stripe_event_apply_enqueue, event_id=event.id))


def secret_override_refused(sender, instance, **kwargs):
    """Drop the `X-Djstripe-Webhook-Secret` header before the signature is checked.

    With DEBUG on, dj-stripe verifies against a secret sent in that header (meant for the Stripe
    CLI), so anyone could sign a forged event with a secret of their own.
    """
    instance.headers = {
        name: value for name, value in instance.headers.items() if name.lower() != SECRET_OVERRIDE_HEADER
    }
