"""The billing page: the workspace's plan and usage this month. Checkout and the portal come with Stripe."""

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.shortcuts import render
from django.utils import timezone

from accounts.permissions import MANAGERS
from accounts.views.access import membership_for_page, page_context
from analytics import selectors as analytics_selectors
from billing import selectors


@login_required
def billing(request, workspace_id):
    membership = membership_for_page(request, workspace_id, roles=MANAGERS)
    month_start = timezone.now().replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    usage = analytics_selectors.workspace_overview(workspace_id=workspace_id, since=month_start)
    context = page_context(
        request,
        membership,
        plan=selectors.plan_of(workspace=membership.workspace),
        usage=usage,
        month_start=month_start,
        stripe_configured=bool(settings.STRIPE_TEST_SECRET_KEY or settings.STRIPE_LIVE_SECRET_KEY),
    )
    return render(request, "billing/billing.html", context)
