"""Shared argument handling for the workspace commands."""

from django.core.management.base import CommandError

from accounts import selectors
from accounts.models import Workspace
from accounts.workspace_options import InvalidOption, parse_assignments


def workspace_from(identifier):
    """Return the live workspace named or numbered `identifier`, or raise a CommandError."""
    try:
        return selectors.workspace_get_by_name_or_id(identifier=identifier)
    except Workspace.DoesNotExist:
        raise CommandError(f"no workspace {identifier!r}") from None


def settings_changes_from(assignments):
    """Parse --set KEY=VALUE arguments, turning bad ones into a clear CommandError."""
    try:
        return parse_assignments(assignments or [])
    except InvalidOption as error:
        raise CommandError(str(error)) from None
