"""Who may see which dashboard page: a member sees their workspace, an outsider gets a 404."""

from django.core.exceptions import PermissionDenied
from django.http import Http404

from accounts import selectors
from accounts.permissions import ANY_MEMBER


def membership_for_page(request, workspace_id, *, roles=ANY_MEMBER):
    """Return the user's membership of the workspace if their role is one of `roles`.

    Like the API: a workspace the user is not a member of is a 404 (its existence is not
    revealed); a member without the role gets a 403.
    """
    membership = selectors.membership_find(user=request.user, workspace_id=workspace_id)
    if membership is None:
        raise Http404("workspace not found")
    if membership.role not in roles:
        raise PermissionDenied(f"only a workspace {' or '.join(roles)} may do this")
    return membership


def page_context(request, membership, **extra):
    """The context every workspace page shares: the workspace, the user's role, the switcher's list."""
    return {
        "workspace": membership.workspace,
        "role": membership.role,
        "can_manage": membership.role in ("owner", "admin"),
        "memberships": selectors.memberships_of(user=request.user),
        "email_unconfirmed": selectors.email_unconfirmed(user=request.user),
        **extra,
    }
