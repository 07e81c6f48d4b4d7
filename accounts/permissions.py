"""Who may do what to a workspace through the management API."""

from ninja.errors import HttpError

from accounts import selectors
from accounts.models import Membership

# Reading: any member. Managing keys, settings and exports: owners and admins. Deleting: owners.
ANY_MEMBER = (Membership.Role.OWNER, Membership.Role.ADMIN, Membership.Role.MEMBER)
MANAGERS = (Membership.Role.OWNER, Membership.Role.ADMIN)
OWNERS = (Membership.Role.OWNER,)


def workspace_for(user, workspace_id, *, roles):
    """Return the workspace if `user` holds one of `roles` in it.

    A workspace the user is not a member of is a 404, so its existence is not revealed; a member
    without the role gets a 403.
    """
    membership = selectors.membership_find(user=user, workspace_id=workspace_id)
    if membership is None:
        raise HttpError(404, "workspace not found")
    if membership.role not in roles:
        raise HttpError(403, f"only a workspace {' or '.join(roles)} may do this")
    return membership.workspace
