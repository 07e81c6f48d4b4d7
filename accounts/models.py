import secrets
import uuid

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils import timezone


def new_cache_secret():
    return secrets.token_hex(32)


class Workspace(models.Model):
    name = models.CharField(max_length=100, unique=True)
    # Keys the HMACs of this workspace's cache keys and prompt hashes, so equal prompts in two
    # workspaces never share a hash.
    cache_secret = models.CharField(max_length=64, default=new_cache_secret, editable=False)
    created_at = models.DateTimeField(default=timezone.now)
    # Set when the workspace is deleted: its keys, members and cache are gone at once, and the
    # purge task removes its request logs and then the row (see services.workspace_delete).
    deleted_at = models.DateTimeField(null=True, blank=True)
    # The owners' addresses at deletion, told when the purge is done: by then their memberships
    # (and, after closing their account, the users) are gone.
    deletion_contacts = models.JSONField(default=list, blank=True, editable=False)

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name


class Membership(models.Model):
    class Role(models.TextChoices):
        OWNER = "owner"
        ADMIN = "admin"
        MEMBER = "member"

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships")
    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=10, choices=Role.choices, default=Role.MEMBER)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "workspace"], name="membership_unique_user_workspace")]

    def __str__(self):
        return f"{self.user} in {self.workspace} ({self.role})"


class ServiceTier(models.TextChoices):
    """The provider tier a request is sent on: OpenAI's flex tier costs half, answers slower, may refuse."""

    STANDARD = "standard"
    FLEX = "flex"


class ApiKey(models.Model):
    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="api_keys")
    name = models.CharField(max_length=100, blank=True)
    public_id = models.CharField(max_length=32, unique=True)
    salt = models.CharField(max_length=32)
    secret_hash = models.CharField(max_length=64)
    preview = models.CharField(max_length=16)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    created_at = models.DateTimeField(default=timezone.now)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    # The tier this key's requests go on unless X-Optera-Tier says otherwise; blank: the workspace's.
    tier = models.CharField(max_length=10, choices=ServiceTier.choices, blank=True, default="")
    # An owner's own, lower limit for this key (a CI key, say); null: only the workspace's limit.
    rate_limit_per_minute = models.PositiveIntegerField(null=True, blank=True, validators=[MinValueValidator(1)])

    class Meta:
        ordering = ["-created_at"]

    def __str__(self):
        return self.preview

    @property
    def is_active(self):
        return self.revoked_at is None


class CacheMode(models.TextChoices):
    OFF = "off"
    EXACT = "exact"
    SEMANTIC = "semantic"


class AnthropicCacheTtl(models.TextChoices):
    """How long Anthropic keeps the prompt-cache entries Optera's breakpoints write."""

    # Chosen per conversation from the gaps between its turns (proxy/providers/anthropic/cache_ttl.py).
    AUTO = "auto"
    FIVE_MINUTES = "5m"
    ONE_HOUR = "1h"


class WorkspaceSettings(models.Model):
    """A workspace's options; defaults are documented in the README and `workspace_settings`."""

    workspace = models.OneToOneField(Workspace, on_delete=models.CASCADE, primary_key=True, related_name="settings")
    cache_mode = models.CharField(max_length=10, choices=CacheMode.choices, default=CacheMode.SEMANTIC)
    cache_ttl_seconds = models.PositiveIntegerField(
        default=7 * 24 * 3600, validators=[MinValueValidator(1), MaxValueValidator(90 * 24 * 3600)]
    )
    semantic_threshold = models.FloatField(default=0.8, validators=[MinValueValidator(0.5), MaxValueValidator(1.0)])
    # Live precision of the semantic cache (proxy/lookup/verify_sampling.py): the share of semantic
    # hits also sent upstream after the answer, and compared. Off by default: each sample is a
    # provider call the workspace pays for.
    verify_sample_rate = models.FloatField(default=0.0, validators=[MinValueValidator(0.0), MaxValueValidator(1.0)])
    # The disagreement rate above which the semantic threshold is raised, once enough samples show it.
    verify_disagreement_bound = models.FloatField(
        default=0.01, validators=[MinValueValidator(0.0), MaxValueValidator(1.0)]
    )
    verify_min_samples = models.PositiveIntegerField(
        default=20, validators=[MinValueValidator(5), MaxValueValidator(100_000)]
    )
    routing_enabled = models.BooleanField(default=True)
    cheap_model = models.CharField(max_length=100, default="gpt-4o-mini")
    strong_model = models.CharField(max_length=100, default="gpt-4o")
    model_aliases = models.JSONField(default=dict, blank=True)
    fallbacks = models.JSONField(default=dict, blank=True)
    compression_enabled = models.BooleanField(default=True)
    summaries_enabled = models.BooleanField(default=False)
    # Code pasted again in a later turn sent as a pointer to its earlier copy (proxy/shape/repeats.py):
    # off by default, since the model then reads the file in two places instead of one.
    repeated_code_enabled = models.BooleanField(default=False)
    summary_trigger_tokens = models.PositiveIntegerField(default=4000, validators=[MinValueValidator(500)])
    summary_keep_recent_turns = models.PositiveIntegerField(default=4, validators=[MinValueValidator(1)])
    provider_prompt_cache = models.BooleanField(default=True)
    anthropic_cache_ttl = models.CharField(
        max_length=4, choices=AnthropicCacheTtl.choices, default=AnthropicCacheTtl.AUTO
    )
    # Flex where the model offers it (else standard); a request's X-Optera-Tier overrides it.
    tier = models.CharField(max_length=10, choices=ServiceTier.choices, default=ServiceTier.STANDARD)
    allow_operator_keys = models.BooleanField(default=False)
    # Requests per minute for the whole workspace, every key together, across all proxy processes.
    rate_limit_per_minute = models.PositiveIntegerField(default=600, validators=[MinValueValidator(1)])
    # Without a cap an owner could mint keys without end; the operator raises it for a large account.
    max_active_keys = models.PositiveIntegerField(default=50, validators=[MinValueValidator(1)])
    retention_days = models.PositiveIntegerField(default=30, validators=[MinValueValidator(1), MaxValueValidator(3650)])
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = "workspace settings"

    def __str__(self):
        return f"settings of {self.workspace}"


class Profile(models.Model):
    """What the dashboard knows of a user beyond Django's user: a verified email, the age confirmation."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="profile")
    email_verified_at = models.DateTimeField(null=True, blank=True)
    # The service is not for minors (privacy policy): sign-up asks for this confirmation.
    adult_confirmed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    def __str__(self):
        return f"profile of {self.user}"


class Invitation(models.Model):
    """An invitation to join a workspace; the link carries a signed, expiring reference to this row."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="invitations")
    email = models.EmailField()
    role = models.CharField(max_length=10, choices=Membership.Role.choices, default=Membership.Role.MEMBER)
    invited_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    accepted_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self):
        return f"invitation of {self.email} to {self.workspace}"

    @property
    def is_open(self):
        return self.accepted_at is None and self.revoked_at is None


class ClerkIdentity(models.Model):
    """The Clerk user who signs in as this Django user (only when Clerk sign-in is configured)."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="clerk_identity")
    clerk_user_id = models.CharField(max_length=100, unique=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name_plural = "Clerk identities"

    def __str__(self):
        return f"{self.clerk_user_id} as {self.user}"


class OutboundEmail(models.Model):
    """One transactional email: recorded with its occasion's key, then sent by a Celery task.

    The unique `key` names the occasion (an invitation, a quota threshold in a month), so asking
    twice records one email; `delivery_key` goes to Resend as the Idempotency-Key, so a delivery
    retried after a timeout is not sent twice either.
    """

    class Status(models.TextChoices):
        QUEUED = "queued"
        SENT = "sent"
        # RESEND_API_KEY was not set: written to the log instead (the admin's "send again" sends it).
        LOGGED = "logged"
        FAILED = "failed"

    key = models.CharField(max_length=200, unique=True)
    # Not the occasion's key: two installations sharing a Resend account would silence each other's
    # "quota:1:requests:80:2026-12:1" for 24 hours.
    delivery_key = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    template = models.CharField(max_length=100)
    to = models.EmailField()
    subject = models.CharField(max_length=300)
    # Emptied once sent: they carry confirmation, invitation and password-reset links.
    text_body = models.TextField(blank=True)
    html_body = models.TextField(blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    attempts = models.PositiveIntegerField(default=0)
    # Held by the worker sending it; a worker that died mid-send lets go of it at this time.
    claimed_until = models.DateTimeField(null=True, blank=True)
    provider_id = models.CharField(max_length=100, blank=True, help_text="Resend's id of the email")
    error = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["status", "created_at"], name="outboundemail_status_created")]

    def __str__(self):
        return self.key
