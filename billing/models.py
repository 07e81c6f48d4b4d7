from decimal import Decimal

from django.core.validators import MinValueValidator
from django.db import models
from django.utils import timezone


class Plan(models.Model):
    """A plan's quotas and allowances; a paid plan's price lives in Stripe under `stripe_price_id`."""

    name = models.CharField(max_length=60, unique=True)
    monthly_request_quota = models.PositiveIntegerField(null=True, blank=True, help_text="empty: unlimited")
    monthly_spend_cap_usd = models.DecimalField(
        max_digits=12,
        decimal_places=2,
        null=True,
        blank=True,
        validators=[MinValueValidator(Decimal("0"))],
        help_text="USD a workspace may forward a month, at list price; empty: no cap",
    )
    semantic_cache_included = models.BooleanField(default=True)
    max_retention_days = models.PositiveIntegerField(default=30, validators=[MinValueValidator(1)])
    seats = models.PositiveIntegerField(null=True, blank=True, help_text="members a workspace may have; empty: any")
    stripe_price_id = models.CharField(max_length=100, blank=True)
    is_default = models.BooleanField(default=False, help_text="the plan of every workspace without another")

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["is_default"], condition=models.Q(is_default=True), name="plan_one_default")
        ]

    def __str__(self):
        return self.name


class WorkspacePlan(models.Model):
    """Which plan a workspace is on, and its Stripe subscription's state when it pays through Stripe."""

    class Status(models.TextChoices):
        ACTIVE = "active"
        TRIALING = "trialing"
        PAST_DUE = "past_due"
        CANCELED = "canceled"
        COMPED = "comped"  # given by an operator (`set_plan`), no Stripe

    workspace = models.OneToOneField("accounts.Workspace", on_delete=models.CASCADE, related_name="billing_plan")
    plan = models.ForeignKey(Plan, on_delete=models.PROTECT, related_name="workspaces")
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.ACTIVE)
    stripe_customer_id = models.CharField(max_length=100, blank=True)
    stripe_subscription_id = models.CharField(max_length=100, blank=True)
    current_period_end = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(default=timezone.now)

    def __str__(self):
        return f"{self.workspace_id} on {self.plan} ({self.status})"


class UsageCounter(models.Model):
    """How much of a limit one period has used, shared by every proxy process (when Redis is not configured).

    `key` names the scope, the measure and the period ("ws:12:requests:2026-12"); proxies claim
    blocks of it so that a request costs no query (proxy/admit/counters.py).
    """

    key = models.CharField(max_length=200, unique=True)
    used = models.BigIntegerField(default=0)
    expires_at = models.DateTimeField(help_text="the end of the period; a sweep deletes rows past it")

    def __str__(self):
        return f"{self.key}: {self.used}"


class Budget(models.Model):
    """A spending limit in USD per day, week or month (UTC) on a workspace, one of its keys, an end user or a tag.

    Hard budgets refuse requests that would pass them (429 budget_exceeded); soft ones only alert.
    Spend is what Optera forwards at list price; cache hits cost nothing.
    """

    class Scope(models.TextChoices):
        WORKSPACE = "workspace"
        KEY = "key"
        USER = "user"
        TAG = "tag"

    class Period(models.TextChoices):
        DAY = "day"
        WEEK = "week"
        MONTH = "month"

    workspace = models.ForeignKey("accounts.Workspace", on_delete=models.CASCADE, related_name="budgets")
    scope = models.CharField(max_length=10, choices=Scope.choices)
    scope_value = models.CharField(
        max_length=128, blank=True, help_text="key id, end user or tag; empty for the workspace"
    )
    usd = models.DecimalField(max_digits=16, decimal_places=8, validators=[MinValueValidator(Decimal("0"))])
    period = models.CharField(max_length=10, choices=Period.choices)
    hard = models.BooleanField(default=True, help_text="refuse requests past it (else alert only)")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["scope", "scope_value", "period"]
        constraints = [
            models.UniqueConstraint(fields=["workspace", "scope", "scope_value", "period"], name="budget_unique_scope")
        ]

    def __str__(self):
        return f"{self.describe()} ({'hard' if self.hard else 'soft'})"

    def describe(self):
        """Name the budget as a person would: "the end user alice's $5.00 daily budget"."""
        period = {"day": "daily", "week": "weekly", "month": "monthly"}[self.period]
        whose = {
            "workspace": "the workspace's",
            "key": f"key {self.scope_value}'s",
            "user": f"the end user {self.scope_value}'s",
            "tag": f"the tag {self.scope_value}'s",
        }[self.scope]
        return f"{whose} ${self.usd:,.2f} {period} budget"


class Webhook(models.Model):
    """Where a workspace's alerts are POSTed, signed with `secret` (X-Optera-Signature: t=...,v1=HMAC)."""

    workspace = models.OneToOneField("accounts.Workspace", on_delete=models.CASCADE, related_name="webhook")
    url = models.URLField(max_length=500)
    secret = models.CharField(max_length=64, help_text="shown once when set; signs every delivery")
    created_at = models.DateTimeField(default=timezone.now)

    def __str__(self):
        return f"webhook of {self.workspace_id}"


class AlertSent(models.Model):
    """One alert (a budget crossing a threshold in one period), claimed once so it is sent once."""

    key = models.CharField(max_length=200, unique=True)
    created_at = models.DateTimeField(default=timezone.now)

    def __str__(self):
        return self.key


class WebhookDelivery(models.Model):
    """The delivery log of a workspace's webhook: one row per event, with its last attempt."""

    webhook = models.ForeignKey(Webhook, on_delete=models.CASCADE, related_name="deliveries")
    event_type = models.CharField(max_length=60)
    payload = models.JSONField()
    attempts = models.PositiveSmallIntegerField(default=0)
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    error = models.CharField(max_length=200, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self):
        return f"{self.event_type} to {self.webhook_id} ({self.status_code or self.error or 'pending'})"


class StripeEventClaim(models.Model):
    """A Stripe event whose plan effect is enqueued: claimed once, in the event's own transaction, by its id.

    dj-stripe records an event by its unique id, but it looks for the id before it records it, so
    two deliveries arriving together can both run its handlers; this unique row is the guard.
    """

    event_id = models.CharField(max_length=255, unique=True)
    event_type = models.CharField(max_length=250)
    created_at = models.DateTimeField(default=timezone.now)

    def __str__(self):
        return f"{self.event_type} {self.event_id}"
