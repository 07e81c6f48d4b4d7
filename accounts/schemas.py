"""Input and output shapes of the workspace endpoints; inputs list every field they accept."""

from datetime import datetime
from typing import Literal

from ninja import Field, Schema


class WorkspaceOut(Schema):
    id: int
    name: str
    role: str
    created_at: datetime


class ApiKeyOut(Schema):
    id: int
    preview: str
    name: str
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None


class ApiKeyCreateIn(Schema):
    # Printable text only: PostgreSQL refuses a NUL byte, which would otherwise surface as a 500.
    name: str = Field("", max_length=100, pattern=r"^[^\x00-\x1f\x7f]*$")


class ApiKeyCreatedOut(ApiKeyOut):
    api_key: str = Field(description="the full key; shown this once and never again")


class SettingsChangeIn(Schema):
    """The options a workspace's owners and admins may change; operator-only ones are refused.

    `operator_keys` (spending the operator's provider keys) and `rate_limit_per_minute` are the
    operator's to grant (`workspace_settings` command, admin); a body naming them is a 400.
    """

    model_config = {"extra": "forbid"}

    cache: Literal["off", "exact", "semantic"] | None = None
    cache_ttl: int | None = None
    semantic_threshold: float | None = None
    routing: bool | None = None
    cheap_model: str | None = None
    strong_model: str | None = None
    aliases: dict[str, str] | None = None
    fallbacks: dict[str, list[str]] | None = None
    compression: bool | None = None
    summaries: bool | None = None
    summary_trigger_tokens: int | None = None
    summary_keep_recent_turns: int | None = None
    provider_prompt_cache: bool | None = None
    retention_days: int | None = None
