"""The dashboard's Budgets page: budgets with this period's spend, and the alerts' webhook.

Any member sees them; owners and admins set and delete them, through the same services as the
API and the management commands.
"""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from accounts.permissions import MANAGERS
from accounts.views.access import membership_for_page, page_context
from billing import selectors
from billing.alerts import InvalidWebhook, webhook_delete, webhook_set
from billing.budgets import InvalidBudget, budget_delete, budget_scope_parse, budget_set
from billing.forms import BudgetForm, WebhookForm


@login_required
def budgets(request, workspace_id):
    membership = membership_for_page(request, workspace_id)
    budget_form, webhook_form = BudgetForm(), WebhookForm()
    if request.method == "POST":
        membership = membership_for_page(request, workspace_id, roles=MANAGERS)
        if "url" in request.POST:
            webhook_form = WebhookForm(request.POST)
            if _set_webhook(request, membership.workspace, webhook_form):
                return redirect("budgets", workspace_id)
        else:
            budget_form = BudgetForm(request.POST)
            if _set_budget(request, membership.workspace, budget_form):
                return redirect("budgets", workspace_id)
    webhook = selectors.webhook_of(workspace=membership.workspace)
    context = page_context(
        request,
        membership,
        statuses=selectors.budget_statuses(workspace=membership.workspace),
        budget_form=budget_form,
        webhook_form=webhook_form,
        webhook=webhook,
        deliveries=selectors.webhook_deliveries(webhook=webhook),
    )
    return render(request, "billing/budgets.html", context, status=400 if request.method == "POST" else 200)


def _set_budget(request, workspace, form):
    if not form.is_valid():
        return False
    data = form.cleaned_data
    try:
        scope, scope_value = budget_scope_parse(data["scope_text"])
        budget = budget_set(
            workspace=workspace,
            scope=scope,
            scope_value=scope_value,
            usd=data["usd"],
            period=data["period"],
            hard=data["hard"],
        )
    except InvalidBudget as error:
        form.add_error(None, str(error))
        return False
    messages.success(request, f"Set {budget}.")
    return True


def _set_webhook(request, workspace, form):
    if not form.is_valid():
        return False
    try:
        webhook, secret = webhook_set(workspace=workspace, url=form.cleaned_data["url"])
    except InvalidWebhook as error:
        form.add_error("url", str(error))
        return False
    messages.success(request, f"Alerts go to {webhook.url}. Signing secret (shown once): {secret}")
    return True


@login_required
@require_POST
def budget_remove(request, workspace_id, budget_id):
    membership = membership_for_page(request, workspace_id, roles=MANAGERS)
    if budget_delete(workspace=membership.workspace, budget_id=budget_id):
        messages.success(request, "Budget deleted.")
    return redirect("budgets", workspace_id)


@login_required
@require_POST
def webhook_remove(request, workspace_id):
    membership = membership_for_page(request, workspace_id, roles=MANAGERS)
    if webhook_delete(workspace=membership.workspace):
        messages.success(request, "Alerts no longer go to a webhook.")
    return redirect("budgets", workspace_id)
