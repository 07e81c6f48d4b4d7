"""Reads of plans and of what a workspace may use."""

from dataclasses import dataclass
from decimal import Decimal

from djstripe.models import Invoice as StripeInvoice
from djstripe.models import Price as StripePrice
from djstripe.settings import djstripe_settings

from billing.models import Budget, Plan, WorkspacePlan


@dataclass(frozen=True)
class WorkspaceLimits:
    """What a workspace's plan allows in a calendar month (UTC); None: no limit."""

    plan_name: str
    monthly_requests: int | None
    monthly_spend_usd: Decimal | None


UNLIMITED = WorkspaceLimits(plan_name="", monthly_requests=None, monthly_spend_usd=None)


def plan_of(*, workspace):
    """Return the workspace's plan: its own, else the default plan (None when no plan is defined)."""
    own = WorkspacePlan.objects.select_related("plan").filter(workspace=workspace).first()
    if own is not None:
        return own.plan
    return Plan.objects.filter(is_default=True).first()


def workspace_limits(*, workspace_id):
    """Return the monthly limits of a workspace's plan (one query; the proxy keeps it for a few seconds)."""
    own = WorkspacePlan.objects.select_related("plan").filter(workspace_id=workspace_id).first()
    plan = own.plan if own is not None else Plan.objects.filter(is_default=True).first()
    if plan is None:
        return UNLIMITED
    return WorkspaceLimits(
        plan_name=plan.name,
        monthly_requests=plan.monthly_request_quota,
        monthly_spend_usd=plan.monthly_spend_cap_usd,
    )


def budgets_of(*, workspace_id):
    """Return the workspace's budgets as a list (the proxy keeps it for a few seconds)."""
    return list(Budget.objects.filter(workspace_id=workspace_id))


def plan_named(*, name):
    """Return the plan called `name`, or None."""
    return Plan.objects.filter(name=name).first()


def plans_for_sale():
    """Return the plans sold through Stripe, with their dj-stripe Price when it has been synced, cheapest first."""
    plans = list(Plan.objects.exclude(stripe_price_id=""))
    prices = {price.id: price for price in StripePrice.objects.filter(id__in=[plan.stripe_price_id for plan in plans])}
    for plan in plans:
        plan.stripe_price = prices.get(plan.stripe_price_id)
    return sorted(plans, key=lambda plan: (plan.stripe_price is None, _unit_amount(plan.stripe_price), plan.name))


def _unit_amount(price):
    return (price.unit_amount or 0) if price is not None else 0


def workspace_plan_of(*, workspace):
    """Return the workspace's own plan row (its status and Stripe ids), or None (then it is on the default plan)."""
    return WorkspacePlan.objects.select_related("plan").filter(workspace=workspace).first()


def invoices_of(*, workspace_plan, limit=24):
    """Return the latest invoices of the workspace's Stripe customer, from dj-stripe's tables, ready to show."""
    if workspace_plan is None or not workspace_plan.stripe_customer_id:
        return []
    invoices = StripeInvoice.objects.filter(customer__id=workspace_plan.stripe_customer_id).order_by("-created")
    return [
        {
            "number": invoice.number or invoice.id,
            "created": invoice.created,
            "amount": amount_text(invoice.total, invoice.currency),
            "status": invoice.status,
            "url": invoice.stripe_data.get("hosted_invoice_url") or "",
        }
        for invoice in invoices[:limit]
    ]


def amount_text(minor_units, currency):
    """Format an amount in the currency's smallest unit: "29.00 USD", "500 JPY"."""
    currency = (currency or "").lower()
    if currency in djstripe_settings.ZERO_DECIMAL_CURRENCIES:
        return f"{minor_units or 0:,} {currency.upper()}"
    return f"{Decimal(minor_units or 0) / 100:,.2f} {currency.upper()}"
