"""The billing page (plan, usage this month, upgrade, manage, invoices) and its two Stripe buttons.

Upgrade and Manage call the same services as the API and send the browser on to Stripe's page;
a refusal comes back to the billing page as a message.
"""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.text import capfirst
from django.views.decorators.http import require_POST

from accounts.permissions import MANAGERS
from accounts.views.access import membership_for_page, page_context
from analytics import selectors as analytics_selectors
from billing import selectors, services, stripe_api

CHECKOUT_OUTCOMES = {
    "done": "Thank you: your plan changes as soon as Stripe confirms the payment (usually within seconds).",
    "canceled": "Checkout was canceled; nothing changed.",
}


@login_required
def billing(request, workspace_id):
    membership = membership_for_page(request, workspace_id, roles=MANAGERS)
    workspace = membership.workspace
    month_start = timezone.now().replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    usage = analytics_selectors.workspace_overview(workspace_id=workspace_id, since=month_start)
    plan = selectors.plan_of(workspace=workspace)
    workspace_plan = selectors.workspace_plan_of(workspace=workspace)
    if request.GET.get("checkout") in CHECKOUT_OUTCOMES:
        messages.info(request, CHECKOUT_OUTCOMES[request.GET["checkout"]])
    context = page_context(
        request,
        membership,
        plan=plan,
        workspace_plan=workspace_plan,
        usage=usage,
        requests_share=_share(usage["requests"], plan.monthly_request_quota if plan else None),
        spend_share=_share(usage["cost_usd"], plan.monthly_spend_cap_usd if plan else None),
        month_start=month_start,
        stripe_configured=stripe_api.billing_enabled(),
        plans_for_sale=selectors.plans_for_sale(),
        invoices=selectors.invoices_of(workspace_plan=workspace_plan),
    )
    return render(request, "billing/billing.html", context)


@login_required
@require_POST
def checkout(request, workspace_id):
    membership = membership_for_page(request, workspace_id, roles=MANAGERS)
    plan = selectors.plan_named(name=request.POST.get("plan", ""))
    if plan is None:
        messages.error(request, "Choose one of the plans below.")
        return redirect("billing", workspace_id)
    try:
        url = services.checkout_session_create(
            workspace=membership.workspace, plan=plan, return_url=_billing_page_url(request, workspace_id)
        )
    except services.BillingRefused as refusal:
        messages.error(request, f"{capfirst(refusal.message)}.")
        return redirect("billing", workspace_id)
    return redirect(url)


@login_required
@require_POST
def portal(request, workspace_id):
    membership = membership_for_page(request, workspace_id, roles=MANAGERS)
    try:
        url = services.portal_session_create(
            workspace=membership.workspace, return_url=_billing_page_url(request, workspace_id)
        )
    except services.BillingRefused as refusal:
        messages.error(request, f"{capfirst(refusal.message)}.")
        return redirect("billing", workspace_id)
    return redirect(url)


def _billing_page_url(request, workspace_id):
    return request.build_absolute_uri(reverse("billing", args=[workspace_id]))


def _share(used, limit):
    """Return the percentage of `limit` used (capped at 100 for the bar), or None without a limit."""
    if not limit:
        return None
    return min(100, int(used * 100 / limit))
