"""Sign-up, email verification and the onboarding of a user without a workspace.

Sign-in, sign-out and password reset are Django's own views (optera/urls.py) with our templates.
"""

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.decorators import login_required
from django.core import signing
from django.db import transaction
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from accounts import selectors, services, tokens
from accounts.forms import SignUpForm


def signup(request):
    if request.user.is_authenticated:
        return redirect("home")
    form = SignUpForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        user, workspace, full_key = services.user_sign_up(
            email=form.cleaned_data["email"], password=form.cleaned_data["password"]
        )
        login(request, user, backend="accounts.backends.EmailBackend")
        services.email_verification_send(user=user, base_url=request.build_absolute_uri("/"))
        _show_key_once(request, workspace.pk, full_key)
        messages.success(request, f"Welcome! Check {user.email} for a link that confirms your address.")
        return redirect("overview", workspace.pk)
    return render(request, "registration/signup.html", {"form": form, "company_name": settings.OPTERA_COMPANY_NAME})


def verify_email(request, token):
    try:
        user_id, email = tokens.read_email_verification(token)
    except signing.BadSignature:
        messages.error(request, "That confirmation link is not valid or has expired. Sign in to get a new one.")
        return redirect("home")
    user = selectors.user_find(user_id=user_id, email=email)
    if user is None:
        messages.error(request, "That confirmation link is for an address this account no longer uses.")
        return redirect("home")
    services.email_verify(user=user)
    messages.success(request, "Your email address is confirmed.")
    return redirect("home")


@login_required
@require_POST
def resend_verification(request):
    services.email_verification_send(user=request.user, base_url=request.build_absolute_uri("/"))
    messages.success(request, f"A new confirmation link is on its way to {request.user.email}.")
    next_url = request.POST.get("next", "")
    # Only a path on this site: a "next" pointing elsewhere would make this an open redirect.
    if not url_has_allowed_host_and_scheme(next_url, allowed_hosts={request.get_host()}, require_https=False):
        next_url = "home"
    return redirect(next_url)


@login_required
def onboarding(request):
    """A signed-in user without a workspace gets one, with a first key shown once."""
    membership = selectors.memberships_of(user=request.user).first()
    if membership is not None:
        return redirect("overview", membership.workspace_id)
    with transaction.atomic():
        workspace, full_key = services.workspace_create_for(user=request.user)
        services.user_welcome(user=request.user, workspace=workspace)
    _show_key_once(request, workspace.pk, full_key)
    return redirect("overview", workspace.pk)


def _show_key_once(request, workspace_id, full_key):
    # Kept in the signed session only until the next page shows it (then popped): never stored anywhere else.
    request.session[f"new_key:{workspace_id}"] = full_key


def pop_new_key(request, workspace_id):
    """Return the key created a moment ago for this workspace, once; None afterwards."""
    return request.session.pop(f"new_key:{workspace_id}", None)
