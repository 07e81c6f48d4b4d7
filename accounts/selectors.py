"""Reads for workspaces and keys, and a workspace's data export."""

from dataclasses import dataclass
from importlib import import_module

import orjson
from django.apps import apps
from django.conf import settings
from django.contrib import auth
from django.contrib.auth import get_user_model
from django.db.models import Case, F, IntegerField, Q, Value, When
from django.forms.models import model_to_dict

from accounts import data_inventory, keys
from accounts.models import ApiKey, Invitation, Membership, Profile, Workspace, WorkspaceSettings
from accounts.workspace_options import longest_retention_days
from analytics import selectors as analytics_selectors
from cachestore import selectors as cache_selectors

EXPORT_CHUNK_ROWS = 1000
EXPORT_CHUNK_BYTES = 1024 * 1024
# Rows fetched from the database at a time; cached answers can weigh tens of kilobytes each.
EXPORT_FETCH_ROWS = 200
# The export's sections after the workspace's own rows, in document order. The app owning each kind
# of row reads it and picks its fields: the user's data, not the keyed hashes and vectors that only
# serve look-ups.
EXPORT_SECTIONS = (
    ("request_logs", analytics_selectors.request_log_export_rows),
    ("daily_usage", analytics_selectors.daily_usage_export_rows),
    ("cache_entries", cache_selectors.cache_entry_export_rows),
    ("conversation_summaries", cache_selectors.conversation_summary_export_rows),
    ("compressed_prompts", cache_selectors.compressed_prompt_export_rows),
)


@dataclass(frozen=True)
class KeyRecord:
    """What the proxy needs to know about a key, detached from the ORM so it can be cached."""

    api_key_id: int
    public_id: str
    salt: str
    secret_hash: str
    workspace_id: int
    workspace_name: str
    # Keys every hash the proxy stores for this workspace (see keys.workspace_hash_key).
    hash_key: str
    settings: WorkspaceSettings
    # The key's own default tier, or "" to follow the workspace's.
    tier: str = ""
    # The key's own requests-per-minute limit within the workspace's, or None.
    rate_limit_per_minute: int | None = None

    @property
    def default_tier(self):
        """The tier a request with this key goes on unless its X-Optera-Tier header says otherwise."""
        return self.tier or self.settings.tier


def key_record_find(*, public_id):
    """Return the KeyRecord of an active key with this public id, or None."""
    api_key = (
        ApiKey.objects.select_related("workspace", "workspace__settings")
        .filter(public_id=public_id, revoked_at__isnull=True)
        .first()
    )
    return None if api_key is None else _key_record(api_key)


def key_records_recent(*, since, limit):
    """Return the KeyRecords of active keys used or created since `since`, most recently used first.

    A starting proxy reads them before it says it is ready, so their first requests find them in memory.
    """
    api_keys = (
        ApiKey.objects.select_related("workspace", "workspace__settings")
        .filter(revoked_at__isnull=True, workspace__deleted_at__isnull=True)
        .filter(Q(last_used_at__gte=since) | Q(created_at__gte=since))
        .order_by(F("last_used_at").desc(nulls_last=True), "-created_at")[:limit]
    )
    return [_key_record(api_key) for api_key in api_keys]


def _key_record(api_key):
    workspace_settings = workspace_settings_of(workspace=api_key.workspace)
    return KeyRecord(
        api_key_id=api_key.pk,
        public_id=api_key.public_id,
        salt=api_key.salt,
        secret_hash=api_key.secret_hash,
        workspace_id=api_key.workspace_id,
        workspace_name=api_key.workspace.name,
        hash_key=keys.workspace_hash_key(api_key.workspace.cache_secret),
        settings=workspace_settings,
        tier=api_key.tier,
        rate_limit_per_minute=api_key.rate_limit_per_minute,
    )


def key_record_verify(*, record, raw_key):
    """Return True when `raw_key` is the key `record` describes (constant-time compare)."""
    parts = keys.parse_key(raw_key)
    if parts is None or record is None or parts.public_id != record.public_id:
        return False
    return keys.secret_matches(salt=record.salt, stored_hash=record.secret_hash, secret=parts.secret)


def workspace_get_by_name_or_id(*, identifier):
    """Return the workspace named or numbered `identifier`, or raise Workspace.DoesNotExist."""
    condition = Q(name=identifier)
    if str(identifier).isdigit():
        condition |= Q(pk=int(identifier))
    return Workspace.objects.filter(deleted_at__isnull=True).get(condition)


def api_keys_of(*, workspace):
    """Return the workspace's keys, newest first."""
    return ApiKey.objects.filter(workspace=workspace)


def api_key_of(*, workspace, key_id):
    """Return the workspace's key with this id, or None (another workspace's key is None too)."""
    return ApiKey.objects.filter(workspace=workspace, pk=key_id).first()


def workspace_settings_of(*, workspace):
    """Return the workspace's settings, or the defaults when none were stored."""
    try:
        return workspace.settings
    except WorkspaceSettings.DoesNotExist:
        return WorkspaceSettings(workspace=workspace, retention_days=settings.OPTERA_LOG_RETENTION_DAYS)


def memberships_of(*, user):
    """Return the user's memberships of live workspaces, with the workspace, by workspace name."""
    return (
        Membership.objects.select_related("workspace")
        .filter(user=user, workspace__deleted_at__isnull=True)
        .order_by("workspace__name")
    )


def feed_access_holds(*, session_key, user, workspace_id):
    """Whether the session `session_key` still signs `user` in and the user still belongs to the workspace.

    Reads the session afresh, as Django does for a page: a sign-out deletes it, and a password change
    makes its stored hash stale.
    """
    if not session_key or user is None or not user.is_authenticated:
        return False
    session = import_module(settings.SESSION_ENGINE).SessionStore(session_key)
    signed_in = auth.get_user(_SessionHolder(session))
    if signed_in.pk != user.pk:
        return False
    return membership_find(user=user, workspace_id=workspace_id) is not None


@dataclass(frozen=True)
class _SessionHolder:
    """What django.contrib.auth.get_user reads from a request: its session."""

    session: object


def membership_find(*, user, workspace_id):
    """Return the user's membership of this live workspace (with the workspace), or None."""
    return (
        Membership.objects.select_related("workspace")
        .filter(user=user, workspace_id=workspace_id, workspace__deleted_at__isnull=True)
        .first()
    )


def workspace_export_chunks(*, workspace):
    """Yield one JSON document, in pieces of bytes, holding everything stored for the workspace."""
    workspace_settings = model_to_dict(workspace_settings_of(workspace=workspace), exclude=["workspace"])
    members = Membership.objects.filter(workspace=workspace).values("role", "created_at", email=F("user__email"))
    # Never a key's hash or salt.
    api_keys = ApiKey.objects.filter(workspace=workspace).values(
        "preview",
        "name",
        "created_at",
        "last_used_at",
        "revoked_at",
        "tier",
        "rate_limit_per_minute",
        created_by_email=F("created_by__email"),
    )
    head = {
        "workspace": {"id": workspace.pk, "name": workspace.name, "created_at": workspace.created_at},
        "settings": workspace_settings,
        "members": list(members),
        "api_keys": list(api_keys),
    }
    yield orjson.dumps(head, default=str)[:-1]  # the object stays open for the lists that follow
    for name, rows_of in EXPORT_SECTIONS:
        yield b', "' + name.encode() + b'": ['
        rows = rows_of(workspace_id=workspace.pk)
        pending, pending_bytes, separator = [], 0, b""
        for row in rows.iterator(chunk_size=EXPORT_FETCH_ROWS):
            pending.append(orjson.dumps(row, default=str))
            pending_bytes += len(pending[-1])
            # Cached answers can be large: a piece is cut by size as well as by rows.
            if len(pending) == EXPORT_CHUNK_ROWS or pending_bytes >= EXPORT_CHUNK_BYTES:
                yield separator + b",".join(pending)
                pending, pending_bytes, separator = [], 0, b","
        yield (separator + b",".join(pending) if pending else b"") + b"]"
    yield b"}"


def api_key_get_by_id_or_preview(*, identifier):
    """Return the key with this id, public id or preview; raise when none or several match."""
    condition = Q(public_id=identifier) | Q(preview=identifier)
    if str(identifier).isdigit():
        condition |= Q(pk=int(identifier))
    return ApiKey.objects.get(condition)


def default_retention_days():
    """Return the request-log retention a new workspace gets (the policy's default period)."""
    return settings.OPTERA_LOG_RETENTION_DAYS


def email_unconfirmed(*, user):
    """Return True for a user who signed up here and has not confirmed their address yet."""
    return Profile.objects.filter(user=user, email_verified_at__isnull=True).exists()


def user_find(*, user_id, email):
    """Return the active user with this id whose email is still `email`, or None."""
    return get_user_model().objects.filter(pk=user_id, email__iexact=email, is_active=True).first()


def members_of(*, workspace):
    """Return the workspace's memberships with their users, owners first."""
    order = Case(
        *(When(role=role, then=Value(rank)) for rank, role in enumerate(Membership.Role.values)),
        output_field=IntegerField(),
    )
    return Membership.objects.select_related("user").filter(workspace=workspace).order_by(order, "created_at")


def invitations_open(*, workspace):
    return Invitation.objects.filter(workspace=workspace, accepted_at__isnull=True, revoked_at__isnull=True)


def invitation_open(*, invitation_id):
    """Return the open invitation with this id, to a live workspace, or None."""
    return (
        Invitation.objects.select_related("workspace", "invited_by")
        .filter(pk=invitation_id, accepted_at__isnull=True, revoked_at__isnull=True, workspace__deleted_at__isnull=True)
        .first()
    )


def workspace_data_inventory(*, workspace):
    """Return what is stored for a workspace, where and for how long: one dict per entry of the declared inventory.

    The row counts come from the database (None for what is not kept per workspace); the periods
    from the workspace's settings and the operator's; the rest from accounts.data_inventory.
    """
    periods = workspace_privacy_periods(workspace=workspace)
    return [
        {
            "name": entry.name,
            "where": entry.where,
            "rows": _rows_of_workspace(entry, workspace.pk),
            "holds": entry.holds,
            "never": entry.never,
            "kept": entry.kept.format(**periods),
        }
        for entry in data_inventory.INVENTORY
    ]


def workspace_privacy_periods(*, workspace):
    """Return the periods the privacy policy names, as they apply to this workspace."""
    workspace_settings = workspace_settings_of(workspace=workspace)
    return {
        "retention_days": workspace_settings.retention_days,
        "default_retention_days": settings.OPTERA_LOG_RETENTION_DAYS,
        "longest_retention_days": longest_retention_days(workspace),
        "cache_ttl_days": workspace_settings.cache_ttl_seconds / 86400,
        "deletion_window_days": settings.OPTERA_DELETION_WINDOW_DAYS,
    }


def _rows_of_workspace(entry, workspace_id):
    counts = [
        model.objects.filter(**{path: workspace_id}).count()
        for model in apps.get_models()
        if data_inventory.covers(entry, model._meta.label) and (path := _path_to_workspace(model)) is not None
    ]
    return sum(counts) if counts else None


def _path_to_workspace(model):
    """Return the lookup from `model` to its workspace's id (through one other row at most), or None."""
    if model is Workspace:
        return "pk"
    relations = [field for field in model._meta.get_fields() if field.concrete and field.is_relation]
    for field in relations:
        if field.related_model is Workspace:
            return field.name
    for field in relations:
        for further in field.related_model._meta.get_fields():
            if further.concrete and further.is_relation and further.related_model is Workspace:
                return f"{field.name}__{further.name}"
    return None
