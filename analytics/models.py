from decimal import Decimal

from django.contrib.postgres.fields import ArrayField
from django.contrib.postgres.indexes import GinIndex
from django.db import models
from django.utils import timezone


class Provider(models.TextChoices):
    OPENAI = "openai"
    ANTHROPIC = "anthropic"


class ModelPrice(models.Model):
    """List price of one model in USD per million tokens, valid over a period."""

    provider = models.CharField(max_length=20, choices=Provider.choices)
    model = models.CharField(max_length=100, help_text="exact name, or a prefix that dated names start with")
    input_per_mtok = models.DecimalField(max_digits=10, decimal_places=4)
    output_per_mtok = models.DecimalField(max_digits=10, decimal_places=4, default=Decimal("0"))
    cached_input_per_mtok = models.DecimalField(max_digits=10, decimal_places=4, default=Decimal("0"))
    cache_write_per_mtok = models.DecimalField(max_digits=10, decimal_places=4, default=Decimal("0"))
    # OpenAI's flex tier (service_tier "flex"); empty where the model does not offer it.
    flex_input_per_mtok = models.DecimalField(max_digits=10, decimal_places=4, null=True, blank=True)
    flex_output_per_mtok = models.DecimalField(max_digits=10, decimal_places=4, null=True, blank=True)
    flex_cached_input_per_mtok = models.DecimalField(max_digits=10, decimal_places=4, null=True, blank=True)
    valid_from = models.DateTimeField(default=timezone.now)
    valid_to = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["provider", "model", "-valid_from"]
        constraints = [
            models.UniqueConstraint(fields=["provider", "model", "valid_from"], name="model_price_unique_period")
        ]

    def __str__(self):
        return f"{self.provider}/{self.model}"


class CacheStatus(models.TextChoices):
    MISS = "miss"
    HIT = "hit"
    SEMANTIC = "semantic"
    BYPASS = "bypass"


class RequestLog(models.Model):
    """One proxied request: who, which model, tokens, dollars and timings. Never prompt text."""

    workspace = models.ForeignKey("accounts.Workspace", on_delete=models.CASCADE, related_name="request_logs")
    api_key = models.ForeignKey("accounts.ApiKey", null=True, on_delete=models.SET_NULL, related_name="+")
    request_id = models.CharField(max_length=40, db_index=True)
    endpoint = models.CharField(max_length=40)
    model_requested = models.CharField(max_length=100, blank=True)
    model_used = models.CharField(max_length=100, blank=True)
    provider = models.CharField(max_length=20, blank=True)
    stream = models.BooleanField(default=False)
    status_code = models.PositiveSmallIntegerField()
    error_type = models.CharField(max_length=60, blank=True)
    prompt_tokens = models.PositiveIntegerField(default=0)
    completion_tokens = models.PositiveIntegerField(default=0)
    cached_tokens = models.PositiveIntegerField(default=0)
    cache_write_tokens = models.PositiveIntegerField(default=0)
    # Of the cache writes, those to Anthropic's 1-hour cache (billed at 2x input, not 1.25x).
    cache_write_1h_tokens = models.PositiveIntegerField(default=0)
    # The TTL of the prompt-cache markers Optera placed ("5m" or "1h"); empty when it placed none.
    provider_cache_ttl = models.CharField(max_length=4, blank=True)
    usage_estimated = models.BooleanField(default=False, help_text="tokens counted locally: the provider gave none")
    cost_usd = models.DecimalField(max_digits=14, decimal_places=8, default=Decimal("0"))
    saved_usd = models.DecimalField(max_digits=14, decimal_places=8, default=Decimal("0"))
    savings = models.JSONField(default=dict, blank=True, help_text="USD saved by kind")
    cache_status = models.CharField(max_length=10, choices=CacheStatus.choices, default=CacheStatus.BYPASS)
    total_ms = models.FloatField(default=0)
    first_byte_ms = models.FloatField(null=True, blank=True)
    overhead_ms = models.FloatField(default=0)
    client_ip = models.GenericIPAddressField(null=True, blank=True)
    # Keyed with the workspace's secret: equal prompts can be grouped, never read back.
    prompt_hash = models.CharField(max_length=64, blank=True)
    route_reason = models.CharField(max_length=200, blank=True, help_text="why optera/auto chose its tier")
    tier = models.CharField(max_length=10, blank=True, help_text="the provider tier that answered: flex or standard")
    # Attribution the customer sent (X-Optera-User, -Tags, -Session): their own, ideally pseudonymous, ids.
    end_user = models.CharField(max_length=128, blank=True)
    tags = ArrayField(models.CharField(max_length=64), default=list, blank=True)
    session_id = models.CharField(max_length=128, blank=True)
    session_path = models.CharField(max_length=256, blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["workspace", "-created_at"], name="request_log_workspace_time"),
            # The dashboard's request log pages newest first by id (keyset paging).
            models.Index(fields=["workspace", "-id"], name="request_log_workspace_id"),
            # Spend by end user, tag and session (the usage report's group_by).
            models.Index(fields=["workspace", "end_user"], name="request_log_workspace_user"),
            models.Index(fields=["workspace", "session_id"], name="request_log_workspace_session"),
            GinIndex(fields=["tags"], name="request_log_tags"),
        ]

    def __str__(self):
        return f"{self.request_id} {self.endpoint} {self.status_code}"


class DailyUsage(models.Model):
    """One day's requests of a workspace for one model and cache status, summed as each log row is written.

    The dashboard's overview reads these rather than the request log, so it stays fast at any
    volume, and a workspace's savings history outlives the request logs' retention period.
    """

    workspace = models.ForeignKey("accounts.Workspace", on_delete=models.CASCADE, related_name="daily_usage")
    day = models.DateField()
    provider = models.CharField(max_length=20, blank=True)
    model_used = models.CharField(max_length=100, blank=True)
    cache_status = models.CharField(max_length=10, choices=CacheStatus.choices)
    requests = models.PositiveIntegerField(default=0)
    errors = models.PositiveIntegerField(default=0)
    prompt_tokens = models.PositiveBigIntegerField(default=0)
    completion_tokens = models.PositiveBigIntegerField(default=0)
    cached_tokens = models.PositiveBigIntegerField(default=0)
    cost_usd = models.DecimalField(max_digits=16, decimal_places=8, default=Decimal("0"))
    saved_usd = models.DecimalField(max_digits=16, decimal_places=8, default=Decimal("0"))
    savings = models.JSONField(default=dict, blank=True, help_text="USD saved by kind")

    class Meta:
        ordering = ["-day"]
        verbose_name_plural = "daily usage"
        constraints = [
            models.UniqueConstraint(
                fields=["workspace", "day", "provider", "model_used", "cache_status"], name="daily_usage_unique_group"
            )
        ]

    def __str__(self):
        return f"{self.workspace_id} {self.day} {self.model_used} {self.cache_status}"
