"""Writes for workspaces, memberships, keys and settings."""

import functools
import hashlib
import logging

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.sessions.models import Session
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from accounts import emails, keys, signals, tokens
from accounts.models import ApiKey, Invitation, Membership, Profile, Workspace, WorkspaceSettings

logger = logging.getLogger(__name__)


@transaction.atomic
def workspace_create(*, name, owner_email=None, settings_changes=None):
    """Create a workspace with its settings and, given an email, its owner."""
    workspace = Workspace.objects.create(name=name)
    defaults = {"retention_days": settings.OPTERA_LOG_RETENTION_DAYS}
    WorkspaceSettings.objects.create(workspace=workspace, **{**defaults, **(settings_changes or {})})
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


class KeyLimitReached(ValueError):
    """The workspace already holds as many active keys as its settings allow."""


def api_key_create(*, workspace, name="", created_by=None, tier="", rate_limit_per_minute=None):
    """Create a key and return (ApiKey, full key); the full key is never stored or shown again.

    `tier` ("standard" or "flex") is the key's default provider tier; blank follows the workspace.
    `rate_limit_per_minute` is the key's own limit within the workspace's. Raises KeyLimitReached
    when the workspace holds `max_active_keys` active keys already.
    """
    public_id, secret, full_key = keys.generate_key()
    salt = keys.new_salt()
    with transaction.atomic():
        # Locking the workspace row makes two concurrent creations count one after the other.
        Workspace.objects.select_for_update().filter(pk=workspace.pk).first()
        cap = _max_active_keys(workspace)
        if ApiKey.objects.filter(workspace=workspace, revoked_at__isnull=True).count() >= cap:
            raise KeyLimitReached(f"this workspace holds {cap} active keys, its limit: revoke one first")
        api_key = ApiKey.objects.create(
            workspace=workspace,
            name=name,
            public_id=public_id,
            salt=salt,
            secret_hash=keys.hash_secret(salt=salt, secret=secret),
            preview=keys.preview_of(secret),
            created_by=created_by,
            tier=tier,
            rate_limit_per_minute=rate_limit_per_minute,
        )
    return api_key, full_key


def _max_active_keys(workspace):
    stored = WorkspaceSettings.objects.filter(workspace=workspace).values_list("max_active_keys", flat=True).first()
    return stored if stored is not None else WorkspaceSettings._meta.get_field("max_active_keys").default


UNCHANGED = object()


def api_key_change(*, api_key, name=None, tier=None, rate_limit_per_minute=UNCHANGED):
    """Rename a key, change its default tier ("" follows the workspace) or its own rate limit (None: none).

    Proxies see the change within OPTERA_KEY_CACHE_SECONDS.
    """
    if name is not None:
        api_key.name = name
    if tier is not None:
        api_key.tier = tier
    if rate_limit_per_minute is not UNCHANGED:
        api_key.rate_limit_per_minute = rate_limit_per_minute
    api_key.save(update_fields=["name", "tier", "rate_limit_per_minute"])
    return api_key


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
    The owners are emailed now, and again by the purge once it is done.
    """
    from cachestore import services as cache_services

    with transaction.atomic():
        now = timezone.now()
        owners = [
            membership.user
            for membership in Membership.objects.select_related("user").filter(
                workspace=workspace, role=Membership.Role.OWNER
            )
            if membership.user.email
        ]
        claimed = Workspace.objects.filter(pk=workspace.pk, deleted_at__isnull=True).update(
            deleted_at=now, deletion_contacts=[owner.email for owner in owners]
        )
        if not claimed:
            return  # already deleted; the purge task finishes the job
        signals.workspace_deleting.send(sender=Workspace, workspace_id=workspace.pk)
        for owner in owners:
            emails.email_send(
                to=owner.email,
                template="workspace_deletion_scheduled",
                context={"workspace_name": workspace.name, "days": settings.OPTERA_DELETION_WINDOW_DAYS},
                idempotency_key=f"workspace-deletion-scheduled/{workspace.pk}/{owner.pk}",
            )
        ApiKey.objects.filter(workspace=workspace, revoked_at__isnull=True).update(revoked_at=now)
        Membership.objects.filter(workspace=workspace).delete()
        WorkspaceSettings.objects.filter(workspace=workspace).delete()
        transaction.on_commit(lambda: signals.workspace_deleted.send(sender=Workspace, workspace_id=workspace.pk))
    # After the commit, so each batch commits on its own instead of one transaction holding every
    # row lock; once deleted_at is set nothing new is cached, and the purge repeats this anyway.
    cache_services.workspace_cache_forget(workspace_id=workspace.pk, hot_tier=False)


def workspace_purge(*, workspace_id):
    """Remove what is left of a deleted workspace: the Redis copies, request logs in batches, then the row.

    Then the owners it had at deletion are told that it is gone.
    """
    from analytics import services as analytics_services
    from cachestore import services as cache_services

    workspace = Workspace.objects.filter(pk=workspace_id, deleted_at__isnull=False).first()
    if workspace is None:
        return
    # Again in the database too: a request in flight at deletion time may have stored an answer.
    cache_services.workspace_cache_forget(workspace_id=workspace_id)
    signals.workspace_purging.send(sender=Workspace, workspace_id=workspace_id)
    analytics_services.request_logs_delete_for_workspace(workspace_id=workspace_id)
    # One transaction: the emails are recorded if and only if the row is gone.
    with transaction.atomic():
        # Keys, and logs written by requests still in flight, go with the row (CASCADE).
        _, deleted = Workspace.objects.filter(pk=workspace_id, deleted_at__isnull=False).delete()
        if not deleted.get(Workspace._meta.label):
            return  # another purge got there first and sent the emails
        for address in workspace.deletion_contacts:
            emails.email_send(
                to=address,
                template="workspace_deleted",
                context={"workspace_name": workspace.name, "deleted_at": workspace.deleted_at},
                idempotency_key=f"workspace-deleted/{workspace_id}/{address}",
            )


def workspaces_purge_deleted(*, now=None):
    """Purge every workspace deleted by `now` whose purge task was lost or failed (a broker restart, Redis down)."""
    deleted = Workspace.objects.filter(deleted_at__isnull=False, deleted_at__lte=now or timezone.now())
    for workspace_id in deleted.values_list("pk", flat=True):
        try:
            workspace_purge(workspace_id=workspace_id)
        except Exception:  # one workspace's failure must not hold up the others; the next sweep retries
            logger.warning("workspace %s: purge failed, retried in the next sweep", workspace_id, exc_info=True)


class MembershipRefused(Exception):
    """A change to a workspace's members that would leave it without an owner, or exceed the actor's role."""


def user_sign_up(*, email, password):
    """Create a user (who confirmed being 18 or older), a workspace and a first key; return all three."""
    with transaction.atomic():
        user = get_user_model().objects.create_user(username=email, email=email, password=password)
        Profile.objects.create(user=user, adult_confirmed_at=timezone.now())
        workspace, full_key = workspace_create_for(user=user)
        user_welcome(user=user, workspace=workspace)
    return user, workspace, full_key


def user_welcome(*, user, workspace):
    """Welcome a new user to their first workspace, once per user (signed up here or through Clerk)."""
    if not user.email:
        return
    emails.email_send(
        to=user.email,
        template="welcome",
        context={"email": user.email, "workspace_name": workspace.name},
        idempotency_key=f"welcome/{user.pk}",
    )


def workspace_create_for(*, user):
    """Create a workspace owned by `user`, named after them, with a first key; return (workspace, full key)."""
    base_name = f"{(user.email or user.username).split('@')[0][:60]}'s workspace"
    with transaction.atomic():
        name, suffix = base_name, 1
        while Workspace.objects.filter(name=name).exists():
            suffix += 1
            name = f"{base_name} {suffix}"
        workspace = workspace_create(name=name)
        Membership.objects.create(user=user, workspace=workspace, role=Membership.Role.OWNER)
        _, full_key = api_key_create(workspace=workspace, name="first key", created_by=user)
    return workspace, full_key


def email_verification_send(*, user, base_url):
    link = base_url.rstrip("/") + reverse("verify_email", args=[tokens.email_verification_token(user=user)])
    emails.email_send(to=user.email, template="verify_email", context={"email": user.email, "link": link})


def password_reset_send(*, user, to, link):
    """Email a password-reset link (accounts.forms.PasswordResetForm, for Django's PasswordResetView)."""
    # The token (in the link) names the occasion: asking twice within the same second sends one
    # email. Hashed, so the outbox's keys give no one a working link.
    token_digest = hashlib.sha256(link.encode()).hexdigest()
    emails.email_send(
        to=to,
        template="password_reset",
        context={"email": to, "link": link},
        idempotency_key=f"password-reset/{user.pk}/{token_digest}",
    )


def email_verify(*, user):
    Profile.objects.update_or_create(user=user, defaults={"email_verified_at": timezone.now()})


def invitation_create(*, workspace, email, role, invited_by, base_url):
    """Record an invitation and email its signed link."""
    invitation = Invitation.objects.create(
        workspace=workspace, email=email.strip().lower(), role=role, invited_by=invited_by
    )
    emails.email_send(
        to=invitation.email,
        template="invitation",
        context={
            "inviter": invited_by.email or invited_by.username,
            "workspace_name": workspace.name,
            "role": role,
            "link": invitation_link(invitation=invitation, base_url=base_url),
            "days": settings.OPTERA_INVITATION_DAYS,
        },
    )
    return invitation


def invitation_link(*, invitation, base_url):
    return base_url.rstrip("/") + reverse("invitation_accept", args=[tokens.invitation_token(invitation=invitation)])


def invitation_accept(*, invitation, user):
    """Make `user` a member with the invitation's role; an invitation is used once (a conditional update)."""
    with transaction.atomic():
        claimed = Invitation.objects.filter(pk=invitation.pk, accepted_at__isnull=True, revoked_at__isnull=True).update(
            accepted_at=timezone.now()
        )
        if not claimed:
            return None
        membership, created = Membership.objects.get_or_create(
            user=user, workspace_id=invitation.workspace_id, defaults={"role": invitation.role}
        )
    return membership


def invitation_revoke(*, invitation):
    Invitation.objects.filter(pk=invitation.pk, revoked_at__isnull=True).update(revoked_at=timezone.now())


def membership_change_role(*, by, target, role):
    """Change a member's role: only owners make or unmake owners, and a workspace keeps at least one owner."""
    _check_member_change(by=by, target=target, new_role=role)
    target.role = role
    target.save(update_fields=["role"])
    return target


def membership_remove(*, by, target):
    """Remove a member; their open live-feed connections to the workspace end at once."""
    _check_member_change(by=by, target=target, new_role=None)
    workspace_id, user_id = target.workspace_id, target.user_id
    target.delete()
    transaction.on_commit(functools.partial(member_removed_notify, workspace_id=workspace_id, user_id=user_id))


def member_removed_notify(*, workspace_id, user_id):
    """Tell the workspace's live feeds that a user left, so their sockets close."""
    from asgiref.sync import async_to_sync
    from channels.layers import get_channel_layer

    from analytics.consumers import feed_group

    try:
        async_to_sync(get_channel_layer().group_send)(
            feed_group(workspace_id), {"type": "member.removed", "user_id": user_id}
        )
    except Exception:  # the channel layer down: the socket still closes at its next membership check
        logger.warning("could not tell the live feed of workspace %s that a member left", workspace_id)


def _check_member_change(*, by, target, new_role):
    owners = Membership.Role.OWNER
    if owners in (target.role, new_role) and by.role != owners:
        raise MembershipRefused("Only an owner may make someone an owner or change an owner.")
    if target.role == owners and new_role != owners:
        remaining = Membership.objects.filter(workspace_id=target.workspace_id, role=owners).exclude(pk=target.pk)
        if not remaining.exists():
            raise MembershipRefused("A workspace needs at least one owner: make someone else owner first.")


def account_close(*, user):
    """Delete the user's account: workspaces they alone own are deleted, other memberships end."""
    for membership in list(Membership.objects.select_related("workspace").filter(user=user)):
        other_owners = Membership.objects.filter(workspace=membership.workspace, role=Membership.Role.OWNER).exclude(
            user=user
        )
        if membership.role == Membership.Role.OWNER and not other_owners.exists():
            workspace_delete(workspace=membership.workspace)
        else:
            membership.delete()
            transaction.on_commit(
                functools.partial(member_removed_notify, workspace_id=membership.workspace_id, user_id=user.pk)
            )
    user.delete()


def sessions_expire(*, now=None):
    """Delete sign-in sessions past their expiry (a closed account's other sessions among them)."""
    deleted, _ = Session.objects.filter(expire_date__lt=now or timezone.now()).delete()
    return deleted


def quota_threshold_notify(*, workspace_id, quota, threshold, period):
    """Email owners and admins once per workspace, quota ("requests" or "spend"), threshold and month."""
    workspace = Workspace.objects.filter(pk=workspace_id, deleted_at__isnull=True).first()
    if workspace is None:
        return
    managers = Membership.objects.select_related("user").filter(
        workspace=workspace, role__in=(Membership.Role.OWNER, Membership.Role.ADMIN)
    )
    for membership in managers:
        if membership.user.email:
            emails.email_send(
                to=membership.user.email,
                template="quota_threshold",
                context={"workspace_name": workspace.name, "quota": quota, "threshold": threshold, "period": period},
                idempotency_key=f"quota:{workspace_id}:{quota}:{threshold}:{period}:{membership.user_id}",
            )
