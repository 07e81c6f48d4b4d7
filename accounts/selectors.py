"""Reads for workspaces and keys."""

from dataclasses import dataclass

from django.db.models import Q

from accounts import keys
from accounts.models import ApiKey, Workspace, WorkspaceSettings


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
    try:
        workspace_settings = api_key.workspace.settings
    except WorkspaceSettings.DoesNotExist:
        workspace_settings = WorkspaceSettings(workspace=api_key.workspace)
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
    return Workspace.objects.get(condition)


def api_key_get_by_id_or_preview(*, identifier):
    """Return the key with this id, public id or preview; raise when none or several match."""
    condition = Q(public_id=identifier) | Q(preview=identifier)
    if str(identifier).isdigit():
        condition |= Q(pk=int(identifier))
    return ApiKey.objects.get(condition)
