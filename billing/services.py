"""Billing's writes: plans, a workspace's plan, and every call to Stripe.

Stripe is the truth about a paying workspace. Its events only say which subscription to look at:
`subscription_sync` reads the subscription as Stripe has it now and `workspace_plan_apply_subscription`
moves the workspace to match with one conditional update, so a repeated, late or out-of-order event
changes nothing that the latest state does not call for.
"""

import functools
import logging
import operator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

import stripe
from django.db import IntegrityError, connection, transaction
from django.db.models import Q
from django.utils import timezone
from djstripe.models import Price as StripePrice

from accounts import emails
from accounts.models import ApiKey, Membership
from accounts.permissions import MANAGERS
from billing import counter_keys, selectors, stripe_api
from billing.models import AlertSent, Budget, Plan, StripeEventClaim, UsageCounter, WebhookDelivery, WorkspacePlan
from optera.clients import BATCH, redis_client, redis_delete_matching
from optera.db.batches import delete_past_retention

logger = logging.getLogger(__name__)
Status = WorkspacePlan.Status
EXPIRY_BATCH_SIZE = 2000
# Longer than a budget's longest period (a month), so a claim outlives the period it guards.
ALERT_CLAIM_DAYS = timedelta(days=40)

# Stripe subscription statuses that keep the plan (past_due: Stripe is still retrying the payment).
PAYING = {"active": Status.ACTIVE, "trialing": Status.TRIALING, "past_due": Status.PAST_DUE}
# Stripe stopped collecting (retries exhausted, or paused): the default plan until it is paid.
UNPAID = {"unpaid", "paused"}
ENDED = {"canceled", "incomplete_expired"}
# Any other status ("incomplete": the first payment has not gone through) changes nothing.
SUBSCRIBED = (Status.ACTIVE, Status.TRIALING, Status.PAST_DUE)


class BillingRefused(Exception):
    """A billing action that cannot be done: `status` and `code` tell the API and the pages why."""

    def __init__(self, message, *, code, status=409):
        super().__init__(message)
        self.message = message
        self.code = code
        self.status = status


# -- plans -----------------------------------------------------------------------------------------


def plan_create(*, name, monthly_request_quota=None, monthly_spend_cap_usd=None, stripe_price_id="", is_default=False):
    """Create a plan; the default one replaces the previous default."""
    with transaction.atomic():
        if is_default:
            Plan.objects.filter(is_default=True).update(is_default=False)
        return Plan.objects.create(
            name=name,
            monthly_request_quota=monthly_request_quota,
            monthly_spend_cap_usd=monthly_spend_cap_usd,
            stripe_price_id=stripe_price_id,
            is_default=is_default,
        )


def stripe_price_sync(*, price_id):
    """Fetch a recurring Stripe Price into dj-stripe's tables (with its product), or refuse an unknown one."""
    with _stripe_errors():
        try:
            price = stripe.Price.retrieve(price_id, api_key=stripe_api.api_key())
        except stripe.InvalidRequestError:
            raise BillingRefused(f"Stripe has no price {price_id!r}", code="unknown_price", status=400) from None
    if price.get("type") != "recurring":
        raise BillingRefused(f"price {price_id!r} is not a recurring price", code="price_not_recurring", status=400)
    return StripePrice.sync_from_stripe_data(price, api_key=stripe_api.api_key())


def workspace_plan_set(*, workspace, plan):
    """Give a workspace a plan without Stripe.

    Any plan but the default is comped: Stripe's events leave it alone until an operator gives the
    workspace the default plan again, which ends the comp.
    """
    status = Status.ACTIVE if plan.is_default else Status.COMPED
    row, _ = WorkspacePlan.objects.update_or_create(
        workspace=workspace, defaults={"plan": plan, "status": status, "updated_at": _database_now()}
    )
    return row


# -- checkout and the customer portal --------------------------------------------------------------


def stripe_customer_ensure(*, workspace):
    """Return the workspace's Stripe customer id, creating the customer on first use (once, however many ask)."""
    with transaction.atomic():
        row = _workspace_plan_locked(workspace=workspace)
        if not row.stripe_customer_id:
            with _stripe_errors():
                customer = stripe.Customer.create(
                    api_key=stripe_api.api_key(),
                    name=workspace.name,
                    metadata={"optera_workspace_id": str(workspace.pk)},
                    # Answers a retry after a crash between Stripe's reply and the commit with the same customer.
                    idempotency_key=f"optera-workspace-{workspace.pk}-customer",
                )
            row.stripe_customer_id = customer.id
            row.save(update_fields=["stripe_customer_id"])
    return row.stripe_customer_id


def checkout_session_create(*, workspace, plan, return_url):
    """Open a Stripe Checkout for `plan`, paid by the workspace's customer, and return its URL."""
    _refuse_unless_enabled()
    if not plan.stripe_price_id:
        raise BillingRefused(f"the {plan.name} plan is not sold through Stripe", code="plan_not_for_sale", status=400)
    current = WorkspacePlan.objects.filter(workspace=workspace).first()
    if current is not None and current.status == Status.COMPED:
        raise BillingRefused("an operator set this workspace's plan; ask them to change it", code="plan_comped")
    if current is not None and current.stripe_subscription_id and current.status in SUBSCRIBED:
        raise BillingRefused(
            "this workspace already has a subscription: change plans in the customer portal", code="already_subscribed"
        )
    customer_id = stripe_customer_ensure(workspace=workspace)
    with _stripe_errors():
        session = stripe.checkout.Session.create(
            api_key=stripe_api.api_key(),
            mode="subscription",
            customer=customer_id,
            line_items=[{"price": plan.stripe_price_id, "quantity": 1}],
            client_reference_id=str(workspace.pk),
            subscription_data={"metadata": {"optera_workspace_id": str(workspace.pk)}},
            metadata={"optera_workspace_id": str(workspace.pk)},
            success_url=f"{return_url}?checkout=done",
            cancel_url=f"{return_url}?checkout=canceled",
        )
    return session.url


def portal_session_create(*, workspace, return_url):
    """Return the URL of Stripe's customer portal for the workspace (payment method, plan, invoices, cancel)."""
    _refuse_unless_enabled()
    current = WorkspacePlan.objects.filter(workspace=workspace).first()
    if current is None or not current.stripe_customer_id:
        raise BillingRefused("this workspace has not subscribed through Stripe yet", code="no_customer")
    with _stripe_errors():
        session = stripe.billing_portal.Session.create(
            api_key=stripe_api.api_key(), customer=current.stripe_customer_id, return_url=return_url
        )
    return session.url


def subscription_to_cancel(*, workspace_id):
    """Return the id of the deleted workspace's live Stripe subscription, or None (nothing to cancel).

    Read as the deletion commits, before the purge removes the workspace's plan row with it.
    """
    if not stripe_api.billing_enabled():
        return None
    row = WorkspacePlan.objects.filter(workspace_id=workspace_id, status__in=SUBSCRIBED).first()
    return (row.stripe_subscription_id or None) if row is not None else None


def subscription_cancel(*, subscription_id):
    """Cancel a subscription at once (a deleted workspace must not be charged again); idempotent.

    Stripe prorates nothing by default: the period already paid is not refunded, which the
    deletion page says. A subscription Stripe no longer has counts as cancelled.
    """
    try:
        stripe.Subscription.cancel(
            subscription_id, api_key=stripe_api.api_key(), idempotency_key=f"optera-cancel-{subscription_id}"
        )
    except stripe.InvalidRequestError as error:
        if error.code != "resource_missing":
            raise
    WorkspacePlan.objects.filter(stripe_subscription_id=subscription_id).update(status=Status.CANCELED)
    logger.info("Stripe subscription %s cancelled: its workspace was deleted", subscription_id)


def _refuse_unless_enabled():
    if not stripe_api.billing_enabled():
        raise BillingRefused("billing is not set up on this installation", code="billing_disabled")


def _workspace_plan_locked(*, workspace):
    """Return the workspace's plan row, locked for this transaction; a workspace without one starts on the default."""
    row = WorkspacePlan.objects.select_for_update().filter(workspace=workspace).first()
    if row is not None:
        return row
    default = Plan.objects.filter(is_default=True).first()
    if default is None:
        raise BillingRefused("no default plan is defined: an operator must create one first", code="no_default_plan")
    WorkspacePlan.objects.get_or_create(workspace=workspace, defaults={"plan": default})
    return WorkspacePlan.objects.select_for_update().get(workspace=workspace)


@contextmanager
def _stripe_errors():
    try:
        yield
    except stripe.StripeError as error:
        logger.warning("Stripe refused a request: %s", error.user_message or type(error).__name__)
        raise BillingRefused("Stripe could not do this just now; try again", code="stripe_error", status=502) from error


# -- webhook effects -------------------------------------------------------------------------------


def stripe_event_claim(*, event):
    """Claim a recorded Stripe event's effect; return False when another delivery of the event has claimed it.

    Run in the event's transaction: a concurrent claim of the same id waits for it to commit and
    then fails, and a rolled-back event leaves the claim free for Stripe's next delivery.
    """
    try:
        with transaction.atomic():
            StripeEventClaim.objects.create(event_id=event.id, event_type=event.type)
    except IntegrityError:
        return False
    return True


def stripe_event_apply(*, event):
    """Apply a recorded Stripe event (dj-stripe's Event) to the workspace it concerns."""
    stripe_object = event.data.get("object", {})
    subscription_id = subscription_id_of(stripe_object)
    if subscription_id:
        subscription_sync(subscription_id=subscription_id)
    if event.type == "invoice.payment_failed":
        payment_failed_notify(invoice=stripe_object)


def subscription_id_of(stripe_object):
    """Return the id of the subscription a subscription, Checkout Session or invoice names, or None."""
    kind = stripe_object.get("object")
    if kind == "subscription":
        return stripe_object.get("id")
    if kind == "checkout.session":
        found = stripe_object.get("subscription")
    elif kind == "invoice":
        details = (stripe_object.get("parent") or {}).get("subscription_details") or {}
        # API versions before 2025-03-31 named it at the top.
        found = details.get("subscription") or stripe_object.get("subscription")
    else:
        return None
    return _id(found)


def subscription_sync(*, subscription_id):
    """Read the subscription as Stripe has it now and move its workspace to match; return whether it moved."""
    fetched_at = _database_now()
    subscription = stripe.Subscription.retrieve(subscription_id, api_key=stripe_api.api_key())
    return workspace_plan_apply_subscription(subscription=subscription.to_dict(), fetched_at=fetched_at)


def _database_now():
    """Return the database's clock, so that every worker orders its readings of Stripe by the same clock."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT clock_timestamp()")
        return cursor.fetchone()[0]


def workspace_plan_apply_subscription(*, subscription, fetched_at):
    """Move the workspace a subscription (a dict, as Stripe had it at `fetched_at`) belongs to; return whether it moved.

    One conditional update: it changes the row only if the row differs and was last written from
    an older reading than this one, so repeats do nothing and a slow, stale reading loses.
    """
    row = _workspace_plan_of(subscription)
    if row is None:
        return False
    if row.status == Status.COMPED:
        logger.info("workspace %s is comped: Stripe subscription %s left aside", row.workspace_id, subscription["id"])
        return False
    stripe_status = subscription["status"]
    if stripe_status in PAYING:
        plan = _plan_of(subscription)
        status = PAYING[stripe_status]
    elif stripe_status in UNPAID or stripe_status in ENDED:
        if row.stripe_subscription_id != subscription["id"]:
            return False  # a subscription the workspace has moved on from
        plan = Plan.objects.filter(is_default=True).first()
        status = Status.PAST_DUE if stripe_status in UNPAID else Status.CANCELED
        if plan is None:
            logger.error(
                "subscription %s is %s, but there is no default plan to go back to", subscription["id"], stripe_status
            )
    else:
        return False
    if plan is None:
        return False
    target = {
        "plan": plan,
        "status": status,
        "stripe_customer_id": _id(subscription["customer"]),
        "stripe_subscription_id": subscription["id"],
        "current_period_end": _period_end(subscription),
    }
    changed = (
        WorkspacePlan.objects.filter(pk=row.pk, updated_at__lt=fetched_at)
        .exclude(status=Status.COMPED)
        .exclude(**target)
        .update(**target, updated_at=fetched_at)
    )
    if changed:
        logger.info(
            "workspace %s: now on %s (%s) by Stripe subscription %s",
            row.workspace_id,
            plan.name,
            status,
            subscription["id"],
        )
    return bool(changed)


def _workspace_plan_of(subscription):
    """Return the plan row of the workspace a subscription pays for (named in its metadata, else by its customer)."""
    customer_id = _id(subscription["customer"])
    workspace_id = str((subscription.get("metadata") or {}).get("optera_workspace_id", ""))
    if workspace_id.isdigit():
        row = WorkspacePlan.objects.filter(workspace_id=int(workspace_id)).first()
        if row is not None and row.stripe_customer_id not in ("", customer_id):
            logger.warning(
                "subscription %s names workspace %s, which pays through another customer: ignored",
                subscription["id"],
                workspace_id,
            )
            return None
    else:
        row = WorkspacePlan.objects.filter(stripe_customer_id=customer_id).first()
    if row is None:
        logger.warning("subscription %s (customer %s) belongs to no workspace", subscription["id"], customer_id)
    return row


def _plan_of(subscription):
    price_ids = [_id(item["price"]) for item in subscription["items"]["data"]]
    plan = Plan.objects.filter(stripe_price_id__in=price_ids).exclude(stripe_price_id="").first()
    if plan is None:
        logger.error("subscription %s: no plan sells its prices %s", subscription["id"], ", ".join(price_ids))
    return plan


def _period_end(subscription):
    # Since API version 2025-03-31 the period lives on each item.
    ends = [item.get("current_period_end") for item in subscription["items"]["data"]]
    ends = [end for end in [*ends, subscription.get("current_period_end")] if end]
    return datetime.fromtimestamp(max(ends), tz=UTC) if ends else None


def _id(value):
    return value.get("id") if isinstance(value, dict) else value


def payment_failed_notify(*, invoice):
    """Email the workspace's owners and admins that Stripe could not collect an invoice, once per attempt."""
    row = (
        WorkspacePlan.objects.select_related("workspace", "plan")
        .filter(stripe_customer_id=_id(invoice.get("customer")))
        .first()
    )
    if row is None:
        return
    managers = Membership.objects.select_related("user").filter(workspace=row.workspace, role__in=MANAGERS)
    context = {
        "workspace_name": row.workspace.name,
        "plan_name": row.plan.name,
        "amount": selectors.amount_text(invoice.get("amount_due"), invoice.get("currency")),
        "invoice_url": invoice.get("hosted_invoice_url") or "",
        "next_attempt": _date_of(invoice.get("next_payment_attempt")),
    }
    for membership in managers:
        if not membership.user.email:
            continue
        emails.email_send(
            to=membership.user.email,
            template="payment_failed",
            context=context,
            idempotency_key=f"payment-failed/{invoice['id']}/{invoice.get('attempt_count', 0)}/{membership.user_id}",
        )


def _date_of(timestamp):
    return datetime.fromtimestamp(timestamp, tz=UTC) if timestamp else None


def usage_counters_expire(*, now=None):
    """Delete PostgreSQL counters whose period has ended (rate-limit minutes leave one a minute).

    And the claims of alerts whose period has ended: a budget's longest period is a month.
    """
    now = now or timezone.now()
    deleted, _ = UsageCounter.objects.filter(expires_at__lt=now).delete()
    claims, _ = AlertSent.objects.filter(created_at__lt=now - ALERT_CLAIM_DAYS).delete()
    return deleted + claims


def webhook_deliveries_expire(*, now=None):
    """Delete webhook delivery records (their payloads name budgets and end users) past the workspace's retention."""
    return delete_past_retention(
        WebhookDelivery.objects.all(),
        time_field="created_at",
        now=now or timezone.now(),
        batch_size=EXPIRY_BATCH_SIZE,
        workspace_path="webhook__workspace",
    )


def workspace_counters_forget(*, workspace_id):
    """Delete what a purged workspace counted: its counters (PostgreSQL and Redis) and its alert claims.

    Run before the workspace's rows go (the `workspace_purging` receiver), while its keys and
    budgets still name the counters; counter names are not foreign keys, so nothing cascades to them.
    """
    prefixes = counter_keys.prefixes_of_workspace(
        workspace_id,
        api_key_ids=ApiKey.objects.filter(workspace_id=workspace_id).values_list("pk", flat=True),
        budget_ids=Budget.objects.filter(workspace_id=workspace_id).values_list("pk", flat=True),
    )
    # Alert claims are named after the budget ("budget:<id>:<period>:<threshold>"), so the same prefixes find them.
    by_prefix = functools.reduce(operator.or_, (Q(key__startswith=prefix) for prefix in prefixes))
    deleted, _ = UsageCounter.objects.filter(by_prefix).delete()
    alerts, _ = AlertSent.objects.filter(by_prefix).delete()
    deleted += alerts
    client = redis_client(BATCH)
    if client is None:
        return deleted
    try:
        named = tuple(counter_keys.redis_key(prefix) for prefix in prefixes)
        return deleted + redis_delete_matching(
            client, f"{counter_keys.REDIS_PREFIX}*", only=lambda key: key.startswith(named)
        )
    finally:
        client.close()
