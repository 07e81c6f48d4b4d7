"""The pages anyone may see: the product page (or, signed in, the way to one's workspace) and the policy."""

from django.conf import settings
from django.shortcuts import redirect, render

from accounts import selectors


def home(request):
    """Anonymous: the product page. Signed in: the first workspace's overview (or onboarding without one)."""
    if not request.user.is_authenticated:
        return render(request, "accounts/home.html", {"company_name": settings.OPTERA_COMPANY_NAME})
    membership = selectors.memberships_of(user=request.user).first()
    if membership is None:
        return redirect("onboarding")
    return redirect("overview", membership.workspace_id)


def privacy_policy(request):
    """The privacy policy, its placeholders filled from this installation's settings."""
    return render(
        request,
        "accounts/privacy_policy.html",
        {
            "company_name": settings.OPTERA_COMPANY_NAME,
            "company_address": settings.OPTERA_COMPANY_ADDRESS,
            "effective_date": settings.OPTERA_POLICY_EFFECTIVE_DATE,
            "retention_days": selectors.default_retention_days(),
            "deletion_window_days": settings.OPTERA_DELETION_WINDOW_DAYS,
        },
    )
