"""Reads for workspaces and keys, and a workspace's data export."""

from dataclasses import dataclass

import orjson
from django.db.models import F, Q
from django.forms.models import model_to_dict

from accounts import keys
from accounts.models import ApiKey, Membership, Workspace, WorkspaceSettings

EXPORT_CHUNK_ROWS = 1000
EXPORT_CHUNK_BYTES = 1024 * 1024
# Rows fetched from the database at a time; cached answers can weigh tens of kilobytes each.
EXPORT_FETCH_ROWS = 200
# What an export holds of each stored kind of row: the user's own data, never a key's hash or
# salt, and not the keyed hashes and vectors that only serve look-ups.
EXPORTED_REQUEST_LOG_FIELDS = (
    "request_id",
    "endpoint",
    "model_requested",
    "model_used",
    "provider",
    "stream",
    "status_code",
    "error_type",
    "prompt_tokens",
    "completion_tokens",
    "cached_tokens",
    "cache_write_tokens",
    "usage_estimated",
    "cost_usd",
    "saved_usd",
    "savings",
    "cache_status",
    "total_ms",
    "first_byte_ms",
    "overhead_ms",
    "client_ip",
    "route_reason",
    "created_at",
)
EXPORTED_CACHE_ENTRY_FIELDS = (
    "kind",
    "model",
    "provider",
    "response",
    "usage",
    "cost_usd",
    "created_at",
    "expires_at",
    "hit_count",
    "last_hit_at",
)
EXPORTED_SUMMARY_FIELDS = (
    "summary_text",
    "messages_summarised",
    "tokens_before",
    "tokens_after",
    "model",
    "cost_usd",
    "created_at",
)
EXPORTED_COMPRESSED_PROMPT_FIELDS = ("compressed_text", "tokens_before", "tokens_after", "created_at")


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
    from analytics.models import RequestLog
    from cachestore.models import CacheEntry, CompressedPrompt, ConversationSummary

    workspace_settings = model_to_dict(workspace_settings_of(workspace=workspace), exclude=["workspace"])
    members = Membership.objects.filter(workspace=workspace).values("role", "created_at", email=F("user__email"))
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
    sections = (
        ("request_logs", RequestLog, EXPORTED_REQUEST_LOG_FIELDS),
        ("cache_entries", CacheEntry, EXPORTED_CACHE_ENTRY_FIELDS),
        ("conversation_summaries", ConversationSummary, EXPORTED_SUMMARY_FIELDS),
        ("compressed_prompts", CompressedPrompt, EXPORTED_COMPRESSED_PROMPT_FIELDS),
    )
    for name, model, fields in sections:
        yield b', "' + name.encode() + b'": ['
        rows = model.objects.filter(workspace=workspace).order_by("pk").values(*fields)
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
