"""Billing endpoints of the management API: Stripe Checkout and the customer portal (owners and admins),
budgets (any member reads them; owners and admins set them) and the alerts' webhook (owners and admins).

Refusals (billing off, a plan not for sale, Stripe failing) are `services.BillingRefused`, which
optera/api.py answers in the shared error shape.
"""

from django.urls import reverse
from ninja import Router
from ninja.errors import HttpError
from ninja.security import django_auth

from accounts.permissions import ANY_MEMBER, MANAGERS, workspace_for
from billing import selectors, services
from billing.alerts import InvalidWebhook, webhook_delete, webhook_set
from billing.budgets import InvalidBudget, budget_delete, budget_scope_parse, budget_set
from billing.schemas import BudgetIn, BudgetOut, CheckoutIn, RedirectOut, WebhookIn, WebhookOut, WebhookSetOut

router = Router(auth=django_auth, tags=["billing"])


@router.post("/workspaces/{workspace_id}/billing/checkout", response=RedirectOut, summary="Start a Stripe Checkout")
def checkout(request, workspace_id: int, payload: CheckoutIn):
    workspace = workspace_for(request.user, workspace_id, roles=MANAGERS)
    plan = selectors.plan_named(name=payload.plan)
    if plan is None:
        raise HttpError(400, f"no plan named {payload.plan!r}")
    return_url = request.build_absolute_uri(reverse("billing", args=[workspace.pk]))
    return RedirectOut(url=services.checkout_session_create(workspace=workspace, plan=plan, return_url=return_url))


@router.post("/workspaces/{workspace_id}/billing/portal", response=RedirectOut, summary="Open Stripe's customer portal")
def portal(request, workspace_id: int):
    workspace = workspace_for(request.user, workspace_id, roles=MANAGERS)
    return_url = request.build_absolute_uri(reverse("billing", args=[workspace.pk]))
    return RedirectOut(url=services.portal_session_create(workspace=workspace, return_url=return_url))


def budget_out(status):
    budget = status.budget
    scope = budget.scope if not budget.scope_value else f"{budget.scope}:{budget.scope_value}"
    return BudgetOut(
        id=budget.pk,
        scope=scope,
        usd=budget.usd,
        period=budget.period,
        hard=budget.hard,
        description=budget.describe(),
        spent_usd=status.spent_usd,
        resets_at=status.resets_at,
    )


@router.get("/workspaces/{workspace_id}/budgets", response=list[BudgetOut], summary="Budgets, with this period's spend")
def budget_list(request, workspace_id: int):
    workspace = workspace_for(request.user, workspace_id, roles=ANY_MEMBER)
    return [budget_out(status) for status in selectors.budget_statuses(workspace=workspace)]


@router.post(
    "/workspaces/{workspace_id}/budgets",
    response={201: BudgetOut},
    summary="Set a budget (replaces the one with the same scope and period)",
)
def budget_create(request, workspace_id: int, payload: BudgetIn):
    workspace = workspace_for(request.user, workspace_id, roles=MANAGERS)
    try:
        scope, scope_value = budget_scope_parse(payload.scope)
        budget = budget_set(
            workspace=workspace,
            scope=scope,
            scope_value=scope_value,
            usd=payload.usd,
            period=payload.period,
            hard=payload.hard,
        )
    except InvalidBudget as error:
        raise HttpError(400, str(error)) from None
    return 201, budget_out(selectors.budget_status(budget=budget))


@router.delete("/workspaces/{workspace_id}/budgets/{budget_id}", response={204: None}, summary="Delete a budget")
def budget_remove(request, workspace_id: int, budget_id: int):
    workspace = workspace_for(request.user, workspace_id, roles=MANAGERS)
    if not budget_delete(workspace=workspace, budget_id=budget_id):
        raise HttpError(404, "budget not found")
    return 204, None


@router.get("/workspaces/{workspace_id}/webhook", response=WebhookOut, summary="The alerts' webhook and its deliveries")
def webhook_show(request, workspace_id: int):
    workspace = workspace_for(request.user, workspace_id, roles=MANAGERS)
    webhook = selectors.webhook_of(workspace=workspace)
    if webhook is None:
        raise HttpError(404, "no webhook is set")
    return WebhookOut(
        url=webhook.url, created_at=webhook.created_at, deliveries=selectors.webhook_deliveries(webhook=webhook)
    )


@router.put(
    "/workspaces/{workspace_id}/webhook",
    response=WebhookSetOut,
    summary="Set the alerts' webhook URL with a new signing secret (shown once)",
)
def webhook_put(request, workspace_id: int, payload: WebhookIn):
    workspace = workspace_for(request.user, workspace_id, roles=MANAGERS)
    try:
        webhook, secret = webhook_set(workspace=workspace, url=payload.url)
    except InvalidWebhook as error:
        raise HttpError(400, str(error)) from None
    return WebhookSetOut(url=webhook.url, secret=secret)


@router.delete("/workspaces/{workspace_id}/webhook", response={204: None}, summary="Stop sending alerts to a webhook")
def webhook_remove(request, workspace_id: int):
    workspace = workspace_for(request.user, workspace_id, roles=MANAGERS)
    if not webhook_delete(workspace=workspace):
        raise HttpError(404, "no webhook is set")
    return 204, None
