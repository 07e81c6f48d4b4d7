"""Writes for workspaces, memberships, keys and settings."""

import logging

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from accounts import keys, signals
from accounts.models import ApiKey, Membership, Workspace, WorkspaceSettings

logger = logging.getLogger(__name__)


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


def workspace_delete(*, workspace):
    """Delete a workspace: keys revoked, members, settings and cached answers gone now; the rest in the purge.

    Proxies stop accepting the revoked keys within OPTERA_KEY_CACHE_SECONDS, as after any
    revocation. The key rows themselves go with the request logs in the purge: deleting them here
    would first rewrite every log row's key reference (ON DELETE SET NULL) inside this request.
    Once committed, `workspace_deleted` is sent and the purge task enqueued
    (`accounts.tasks.workspace_purge_enqueue`); a purge that is lost is done by the hourly sweep.
    """
    from cachestore import services as cache_services

    with transaction.atomic():
        now = timezone.now()
        claimed = Workspace.objects.filter(pk=workspace.pk, deleted_at__isnull=True).update(deleted_at=now)
        if not claimed:
            return  # already deleted; the purge task finishes the job
        ApiKey.objects.filter(workspace=workspace, revoked_at__isnull=True).update(revoked_at=now)
        Membership.objects.filter(workspace=workspace).delete()
        WorkspaceSettings.objects.filter(workspace=workspace).delete()
        transaction.on_commit(lambda: signals.workspace_deleted.send(sender=Workspace, workspace_id=workspace.pk))
    # After the commit, so each batch commits on its own instead of one transaction holding every
    # row lock; once deleted_at is set nothing new is cached, and the purge repeats this anyway.
    cache_services.workspace_cache_forget(workspace_id=workspace.pk, hot_tier=False)


def workspace_purge(*, workspace_id):
    """Remove what is left of a deleted workspace: the Redis copies, request logs in batches, then the row."""
    from analytics import services as analytics_services
    from cachestore import services as cache_services

    if not Workspace.objects.filter(pk=workspace_id, deleted_at__isnull=False).exists():
        return
    # Again in the database too: a request in flight at deletion time may have stored an answer.
    cache_services.workspace_cache_forget(workspace_id=workspace_id)
    analytics_services.request_logs_delete_for_workspace(workspace_id=workspace_id)
    # Keys, and logs written by requests still in flight, go with the row (CASCADE).
    Workspace.objects.filter(pk=workspace_id, deleted_at__isnull=False).delete()


def workspaces_purge_deleted():
    """Purge every deleted workspace whose purge task was lost or failed (a broker restart, Redis down)."""
    for workspace_id in Workspace.objects.filter(deleted_at__isnull=False).values_list("pk", flat=True):
        try:
            workspace_purge(workspace_id=workspace_id)
        except Exception:  # one workspace's failure must not hold up the others; the next sweep retries
            logger.warning("workspace %s: purge failed, retried in the next sweep", workspace_id, exc_info=True)

