"""Workspace pages: API keys, settings, members and invitations, privacy and data.

Each view reads top to bottom: find the membership (an outsider gets a 404), check the role for
what changes things, call one service, answer.
"""

from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.decorators import login_required
from django.core import signing
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from accounts import selectors, services, tokens
from accounts.forms import CloseAccountForm, ConfirmNameForm, InviteForm, KeyCreateForm, RoleForm, WorkspaceSettingsForm
from accounts.models import ApiKey, Membership
from accounts.permissions import MANAGERS, OWNERS
from accounts.views.access import membership_for_page, page_context
from accounts.views.auth import pop_new_key


@login_required
def workspace_switch(request):
    """The sidebar's workspace picker (a GET form, so it works without JavaScript)."""
    workspace_id = request.GET.get("workspace", "")
    if not workspace_id.isdigit():
        return redirect("home")
    membership = membership_for_page(request, int(workspace_id))
    return redirect("overview", membership.workspace_id)


@login_required
def keys(request, workspace_id):
    membership = membership_for_page(request, workspace_id)
    form = KeyCreateForm(request.POST or None)
    if request.method == "POST":
        membership = membership_for_page(request, workspace_id, roles=MANAGERS)
        if form.is_valid():
            try:
                _, full_key = services.api_key_create(
                    workspace=membership.workspace,
                    name=form.cleaned_data["name"],
                    created_by=request.user,
                    tier=form.cleaned_data["tier"],
                    rate_limit_per_minute=form.cleaned_data["rate_limit_per_minute"],
                )
            except services.KeyLimitReached as refusal:
                form.add_error(None, str(refusal))
            else:
                request.session[f"new_key:{workspace_id}"] = full_key
                return redirect("keys", workspace_id)
    context = page_context(
        request,
        membership,
        form=form,
        api_keys=selectors.api_keys_of(workspace=membership.workspace),
        new_key=pop_new_key(request, workspace_id),
    )
    return render(request, "accounts/keys.html", context)


@login_required
@require_POST
def key_revoke(request, workspace_id, key_id):
    membership = membership_for_page(request, workspace_id, roles=MANAGERS)
    api_key = get_object_or_404(ApiKey, pk=key_id, workspace=membership.workspace)
    services.api_key_revoke(api_key=api_key)
    messages.success(request, f"Key {api_key.preview} is revoked; requests with it are refused within seconds.")
    return redirect("keys", workspace_id)


@login_required
def workspace_settings(request, workspace_id):
    membership = membership_for_page(request, workspace_id)
    current = selectors.workspace_settings_of(workspace=membership.workspace)
    form = WorkspaceSettingsForm(request.POST or None, current=current)
    if request.method == "POST":
        membership = membership_for_page(request, workspace_id, roles=MANAGERS)
        if form.is_valid():
            services.workspace_settings_update(workspace=membership.workspace, changes=form.changes())
            messages.success(request, "Settings saved. Proxies pick them up within a few seconds.")
            return redirect("workspace_settings", workspace_id)
    return render(request, "accounts/settings.html", page_context(request, membership, form=form))


@login_required
def members(request, workspace_id):
    membership = membership_for_page(request, workspace_id)
    form = InviteForm(request.POST or None)
    invitation_link = None
    if request.method == "POST":
        membership = membership_for_page(request, workspace_id, roles=MANAGERS)
        if form.is_valid():
            invitation = services.invitation_create(
                workspace=membership.workspace,
                email=form.cleaned_data["email"],
                role=form.cleaned_data["role"],
                invited_by=request.user,
                base_url=request.build_absolute_uri("/"),
            )
            invitation_link = services.invitation_link(invitation=invitation, base_url=request.build_absolute_uri("/"))
            messages.success(request, f"Invitation sent to {invitation.email}.")
            form = InviteForm()
    context = page_context(
        request,
        membership,
        form=form,
        invitation_link=invitation_link,
        workspace_members=selectors.members_of(workspace=membership.workspace),
        invitations=selectors.invitations_open(workspace=membership.workspace),
        role_choices=Membership.Role.choices,
    )
    return render(request, "accounts/members.html", context)


@login_required
@require_POST
def member_change_role(request, workspace_id, member_id):
    membership = membership_for_page(request, workspace_id, roles=MANAGERS)
    target = get_object_or_404(Membership, pk=member_id, workspace=membership.workspace)
    form = RoleForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Choose owner, admin or member.")
    else:
        try:
            services.membership_change_role(by=membership, target=target, role=form.cleaned_data["role"])
            messages.success(request, f"{target.user.email or target.user.username} is now {target.role}.")
        except services.MembershipRefused as refusal:
            messages.error(request, str(refusal))
    return redirect("members", workspace_id)


@login_required
@require_POST
def member_remove(request, workspace_id, member_id):
    membership = membership_for_page(request, workspace_id, roles=MANAGERS)
    target = get_object_or_404(Membership, pk=member_id, workspace=membership.workspace)
    try:
        services.membership_remove(by=membership, target=target)
        messages.success(request, f"{target.user.email or target.user.username} no longer has access.")
    except services.MembershipRefused as refusal:
        messages.error(request, str(refusal))
    return redirect("members", workspace_id)


@login_required
@require_POST
def invitation_revoke(request, workspace_id, invitation_id):
    membership = membership_for_page(request, workspace_id, roles=MANAGERS)
    invitation = get_object_or_404(selectors.invitations_open(workspace=membership.workspace), pk=invitation_id)
    services.invitation_revoke(invitation=invitation)
    messages.success(request, f"The invitation to {invitation.email} is withdrawn.")
    return redirect("members", workspace_id)


@login_required
def invitation_accept(request, token):
    """Join the workspace an invitation names (signed-in as any account: the link is the proof)."""
    try:
        invitation = selectors.invitation_open(invitation_id=tokens.read_invitation(token))
    except signing.BadSignature:
        invitation = None
    if invitation is None:
        messages.error(request, "That invitation is not valid, was withdrawn or has expired.")
        return redirect("home")
    if request.method == "POST":
        services.invitation_accept(invitation=invitation, user=request.user)
        messages.success(request, f"You joined {invitation.workspace.name}.")
        return redirect("overview", invitation.workspace_id)
    return render(request, "accounts/invitation.html", {"invitation": invitation})


@login_required
def workspace_privacy(request, workspace_id):
    membership = membership_for_page(request, workspace_id)
    delete_form = ConfirmNameForm(expected=membership.workspace.name)
    close_form = CloseAccountForm(user=request.user)
    if request.method == "POST" and request.POST.get("action") == "delete_workspace":
        membership = membership_for_page(request, workspace_id, roles=OWNERS)
        delete_form = ConfirmNameForm(request.POST, expected=membership.workspace.name)
        if delete_form.is_valid():
            services.workspace_delete(workspace=membership.workspace)
            messages.success(request, f"{membership.workspace.name} is deleted: keys and cache at once, the rest soon.")
            return redirect("home")
    if request.method == "POST" and request.POST.get("action") == "close_account":
        close_form = CloseAccountForm(request.POST, user=request.user)
        if close_form.is_valid():
            services.account_close(user=request.user)
            logout(request)
            messages.success(request, "Your account is closed.")
            return redirect("home")
    context = page_context(
        request,
        membership,
        inventory=selectors.workspace_data_inventory(workspace=membership.workspace),
        periods=selectors.workspace_privacy_periods(workspace=membership.workspace),
        delete_form=delete_form,
        close_form=close_form,
    )
    return render(request, "accounts/privacy.html", context)
