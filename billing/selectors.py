"""Reads of plans and of what a workspace may use."""

import logging
from dataclasses import dataclass
from decimal import Decimal

from django.db.models import Sum
from django.utils import timezone
from djstripe.models import Invoice as StripeInvoice
from djstripe.models import Price as StripePrice
from djstripe.settings import djstripe_settings

from analytics.models import RequestLog
from billing import counter_keys
from billing.budgets import BudgetPeriod
from billing.models import Budget, Plan, UsageCounter, Webhook, WorkspacePlan
from optera.clients import BATCH, redis_client

logger = logging.getLogger(__name__)


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


def budgets_of_workspaces(*, workspace_ids):
    """Return {workspace id: its budgets as a list} for these workspaces (empty lists included), in one query."""
    budgets = {workspace_id: [] for workspace_id in workspace_ids}
    for budget in Budget.objects.filter(workspace_id__in=list(budgets)):
        budgets[budget.workspace_id].append(budget)
    return budgets


def budgets_of(*, workspace_id):
    """Return the workspace's budgets as a list (the proxy keeps it for a few seconds)."""
    return list(Budget.objects.filter(workspace_id=workspace_id))


@dataclass(frozen=True)
class BudgetStatus:
    budget: Budget
    spent_usd: Decimal
    resets_at: object  # the end of the current period (UTC)

    @property
    def share(self):
        """How much of the budget is spent, 0 to 1 (1 for a budget of zero)."""
        if not self.budget.usd:
            return 1.0
        return min(float(self.spent_usd / self.budget.usd), 1.0)


def budget_statuses(*, workspace, now=None):
    """Return each of the workspace's budgets with what its current period has spent."""
    now = now or timezone.now()
    return [budget_status(budget=budget, now=now) for budget in Budget.objects.filter(workspace=workspace)]


def budget_status(*, budget, now=None):
    """Return the budget with what its current period has spent and when the period ends.

    The spend is read from the request log (what Optera forwarded, at list price), not from the
    admission counters: without Redis those hold the blocks each process claimed, not the spend.
    """
    period = BudgetPeriod.of(budget.period, now or timezone.now())
    logs = RequestLog.objects.filter(
        workspace_id=budget.workspace_id, created_at__gte=period.starts_at, created_at__lt=period.ends_at
    )
    if budget.scope == Budget.Scope.KEY:
        logs = logs.filter(api_key_id=int(budget.scope_value))
    elif budget.scope == Budget.Scope.USER:
        logs = logs.filter(end_user=budget.scope_value)
    elif budget.scope == Budget.Scope.TAG:
        logs = logs.filter(tags__contains=[budget.scope_value])
    spent = logs.aggregate(spent=Sum("cost_usd"))["spent"] or Decimal(0)
    return BudgetStatus(budget=budget, spent_usd=spent, resets_at=period.ends_at)


def counter_used(counter_key):
    """A usage counter's value as the proxies keep it: Redis when configured (else, or if it fails, PostgreSQL)."""
    client = redis_client(BATCH)
    if client is not None:
        try:
            return Decimal(int(client.get(counter_keys.redis_key(counter_key)) or 0))
        except Exception:  # Redis away: PostgreSQL's counter is the fallback the proxies count in too
            logger.warning("counters: Redis unavailable, reading PostgreSQL")
        finally:
            client.close()
    row = UsageCounter.objects.filter(key=counter_key).first()
    return Decimal(row.used if row else 0)


def webhook_of(*, workspace):
    return Webhook.objects.filter(workspace=workspace).first()


def webhook_deliveries(*, webhook, limit=20):
    return list(webhook.deliveries.all()[:limit]) if webhook is not None else []


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
