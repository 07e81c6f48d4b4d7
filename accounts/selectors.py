"""Reads for workspaces and keys, and a workspace's data export."""

from dataclasses import dataclass

import orjson
from django.db.models import F, Q
from django.forms.models import model_to_dict

from accounts import keys
from accounts.models import ApiKey, Membership, Workspace, WorkspaceSettings
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
    cache_secret: str
    settings: WorkspaceSettings


def key_record_find(*, public_id):
    """Return the KeyRecord of an active key with this public id, or None."""
    api_key = (
        ApiKey.objects.select_related("workspace", "workspace__settings")
        .filter(public_id=public_id, revoked_at__isnull=True)
        .first()
    )
    if api_key is None:
        return None
    workspace_settings = workspace_settings_of(workspace=api_key.workspace)
    return KeyRecord(
        api_key_id=api_key.pk,
        public_id=api_key.public_id,
        salt=api_key.salt,
        secret_hash=api_key.secret_hash,
        workspace_id=api_key.workspace_id,
        workspace_name=api_key.workspace.name,
        cache_secret=api_key.workspace.cache_secret,
        settings=workspace_settings,
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
        return WorkspaceSettings(workspace=workspace)


def memberships_of(*, user):
    """Return the user's memberships of live workspaces, with the workspace, by workspace name."""
    return (
        Membership.objects.select_related("workspace")
        .filter(user=user, workspace__deleted_at__isnull=True)
        .order_by("workspace__name")
    )


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
        "preview", "name", "created_at", "last_used_at", "revoked_at", created_by_email=F("created_by__email")
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

