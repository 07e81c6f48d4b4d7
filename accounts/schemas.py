"""Input and output shapes of the workspace endpoints; inputs list every field they accept."""

from datetime import datetime
from typing import Annotated, Literal

from ninja import Field, ModelSchema, Schema
from pydantic import field_validator

from accounts.models import WorkspaceSettings
from analytics.models import DailyUsage, RequestLog
from analytics.selectors import EXPORTED_DAILY_USAGE_FIELDS, EXPORTED_REQUEST_LOG_FIELDS
from cachestore.models import CacheEntry, CompressedPrompt, ConversationSummary
from cachestore.selectors import (
    EXPORTED_CACHE_ENTRY_FIELDS,
    EXPORTED_COMPRESSED_PROMPT_FIELDS,
    EXPORTED_SUMMARY_FIELDS,
)

# A model name, or (aliases and fallbacks set by the commands may hold either) a list of them.
ModelNames = str | list[str]


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
    tier: Literal["standard", "flex"] | None = Field(None, description="the key's default tier; null: the workspace's")
    rate_limit_per_minute: int | None = Field(None, description="the key's own limit; null: the workspace's only")

    @field_validator("tier", mode="before")
    @classmethod
    def blank_follows_the_workspace(cls, tier):
        return tier or None


# Printable text only: PostgreSQL refuses a NUL byte, which would otherwise surface as a 500.
PRINTABLE = r"^[^\x00-\x1f\x7f]*$"


KeyRateLimit = Annotated[int, Field(ge=1, le=1_000_000)]


class AccountCloseIn(Schema):
    password: str = Field(..., min_length=1, max_length=4096, description="your current password, to confirm")


class ApiKeyCreateIn(Schema):
    name: str = Field("", max_length=100, pattern=PRINTABLE)
    tier: Literal["standard", "flex"] | None = Field(
        None, description="default tier of its requests; null: the workspace's"
    )
    rate_limit_per_minute: KeyRateLimit | None = Field(None, description="requests per minute for this key alone")


class ApiKeyChangeIn(Schema):
    """Fields left out stay as they are.

    `"tier": null` makes the key follow the workspace's tier; `"rate_limit_per_minute": null`
    leaves it only the workspace's limit.
    """

    name: str | None = Field(None, max_length=100, pattern=PRINTABLE)
    tier: Literal["standard", "flex"] | None = None
    rate_limit_per_minute: KeyRateLimit | None = None


class ApiKeyCreatedOut(ApiKeyOut):
    api_key: str = Field(description="the full key; shown this once and never again")


class SettingsChangeIn(Schema):
    """The options a workspace's owners and admins may change; operator-only ones are refused.

    `operator_keys` (spending the operator's provider keys), `rate_limit_per_minute` and
    `max_active_keys` are the operator's to grant (`workspace_settings` command, admin); a body
    naming them is a 400.
    """

    model_config = {"extra": "forbid"}

    cache: Literal["off", "exact", "semantic"] | None = None
    cache_ttl: int | None = None
    semantic_threshold: float | None = None
    verify_sample_rate: float | None = None
    verify_disagreement_bound: float | None = None
    verify_min_samples: int | None = None
    routing: bool | None = None
    cheap_model: str | None = None
    strong_model: str | None = None
    aliases: dict[str, str] | None = None
    fallbacks: dict[str, list[str]] | None = None
    compression: bool | None = None
    summaries: bool | None = None
    repeated_code: bool | None = None
    summary_trigger_tokens: int | None = None
    summary_keep_recent_turns: int | None = None
    provider_prompt_cache: bool | None = None
    anthropic_cache_ttl: Literal["auto", "5m", "1h"] | None = None
    tier: Literal["standard", "flex"] | None = None
    retention_days: int | None = None


class SettingsOut(Schema):
    """Every option of the workspace by its option name, the operator-only ones included."""

    cache: Literal["off", "exact", "semantic"]
    cache_ttl: int
    semantic_threshold: float
    verify_sample_rate: float
    verify_disagreement_bound: float
    verify_min_samples: int
    routing: bool
    cheap_model: str
    strong_model: str
    aliases: dict[str, ModelNames]
    fallbacks: dict[str, ModelNames]
    compression: bool
    summaries: bool
    repeated_code: bool
    summary_trigger_tokens: int
    summary_keep_recent_turns: int
    provider_prompt_cache: bool
    anthropic_cache_ttl: Literal["auto", "5m", "1h"]
    tier: Literal["standard", "flex"]
    operator_keys: bool
    rate_limit_per_minute: int
    max_active_keys: int
    retention_days: int


class ExportedWorkspace(Schema):
    id: int
    name: str
    created_at: datetime


class ExportedSettings(ModelSchema):
    """The stored settings by model field name (`cache_mode`, not the option name `cache`)."""

    class Meta:
        model = WorkspaceSettings
        exclude = ["workspace", "updated_at"]


class ExportedMember(Schema):
    role: str
    created_at: datetime
    email: str


class ExportedApiKey(Schema):
    preview: str
    name: str
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None
    created_by_email: str | None
    tier: str
    rate_limit_per_minute: int | None


class ExportedRequestLog(ModelSchema):
    class Meta:
        model = RequestLog
        fields = list(EXPORTED_REQUEST_LOG_FIELDS)


class ExportedDailyUsage(ModelSchema):
    class Meta:
        model = DailyUsage
        fields = list(EXPORTED_DAILY_USAGE_FIELDS)


class ExportedCacheEntry(ModelSchema):
    class Meta:
        model = CacheEntry
        fields = list(EXPORTED_CACHE_ENTRY_FIELDS)


class ExportedConversationSummary(ModelSchema):
    class Meta:
        model = ConversationSummary
        fields = list(EXPORTED_SUMMARY_FIELDS)


class ExportedCompressedPrompt(ModelSchema):
    class Meta:
        model = CompressedPrompt
        fields = list(EXPORTED_COMPRESSED_PROMPT_FIELDS)


class WorkspaceExportOut(Schema):
    """Everything stored for a workspace. Describes the streamed download; nothing validates it on the way out."""

    workspace: ExportedWorkspace
    settings: ExportedSettings
    members: list[ExportedMember]
    api_keys: list[ExportedApiKey]
    request_logs: list[ExportedRequestLog]
    daily_usage: list[ExportedDailyUsage]
    cache_entries: list[ExportedCacheEntry]
    conversation_summaries: list[ExportedConversationSummary]
    compressed_prompts: list[ExportedCompressedPrompt]
