"""Billing endpoints of the management API: Stripe Checkout and the customer portal (owners and admins).

Refusals (billing off, a plan not for sale, Stripe failing) are `services.BillingRefused`, which
optera/api.py answers in the shared error shape.
"""

from django.urls import reverse
from ninja import Router
from ninja.errors import HttpError
from ninja.security import django_auth

from accounts.permissions import MANAGERS, workspace_for
from billing import selectors, services
from billing.schemas import CheckoutIn, RedirectOut

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
