"""Reads of plans and of what a workspace may use."""

from dataclasses import dataclass
from decimal import Decimal

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
