"""Writes for workspaces, memberships, keys and settings."""

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from accounts import keys
from accounts.models import ApiKey, Membership, Workspace, WorkspaceSettings


@transaction.atomic
def workspace_create(*, name, owner_email=None, settings_changes=None):
    """Create a workspace with its settings and, given an email, its owner."""
    workspace = Workspace.objects.create(name=name)
    WorkspaceSettings.objects.create(workspace=workspace, **(settings_changes or {}))
    if owner_email:
        user_model = get_user_model()
        owner, _ = user_model.objects.get_or_create(username=owner_email, defaults={"email": owner_email})
        Membership.objects.create(user=owner, workspace=workspace, role=Membership.Role.OWNER)
    return workspace


def workspace_settings_update(*, workspace, changes):
    """Apply already-validated {field: value} changes to a workspace's settings."""
    workspace_settings, _ = WorkspaceSettings.objects.get_or_create(workspace=workspace)
    for field, value in changes.items():
        setattr(workspace_settings, field, value)
    workspace_settings.full_clean()
    workspace_settings.save()
    return workspace_settings


def api_key_create(*, workspace, name="", created_by=None):
    """Create a key and return (ApiKey, full key); the full key is never stored or shown again."""
    public_id, secret, full_key = keys.generate_key()
    salt = keys.new_salt()
    api_key = ApiKey.objects.create(
        workspace=workspace,
        name=name,
        public_id=public_id,
        salt=salt,
        secret_hash=keys.hash_secret(salt=salt, secret=secret),
        preview=keys.preview_of(secret),
        created_by=created_by,
    )
    return api_key, full_key


def api_key_revoke(*, api_key):
    """Revoke a key; proxies stop accepting it within OPTERA_KEY_CACHE_SECONDS."""
    ApiKey.objects.filter(pk=api_key.pk, revoked_at__isnull=True).update(revoked_at=timezone.now())
    api_key.refresh_from_db()
    return api_key


def api_key_mark_used(*, api_key_id, used_at):
    """Record when a key was last used, never moving the time backwards."""
    from django.db.models import Q

    ApiKey.objects.filter(Q(last_used_at__isnull=True) | Q(last_used_at__lt=used_at), pk=api_key_id).update(
        last_used_at=used_at
    )
