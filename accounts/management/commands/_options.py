"""Shared argument handling for the workspace commands."""

from django.core.management.base import CommandError

from accounts.workspace_options import InvalidOption, parse_assignments


def settings_changes_from(assignments):
    """Parse --set KEY=VALUE arguments, turning bad ones into a clear CommandError."""
    try:
        return parse_assignments(assignments or [])
    except InvalidOption as error:
        raise CommandError(str(error)) from None
