from django.contrib import admin

from billing.models import (
    AlertSent,
    Budget,
    Plan,
    StripeEventClaim,
    UsageCounter,
    Webhook,
    WebhookDelivery,
    WorkspacePlan,
)


@admin.register(Plan)
class PlanAdmin(admin.ModelAdmin):
    list_display = [
        "name",
        "monthly_request_quota",
        "monthly_spend_cap_usd",
        "semantic_cache_included",
        "max_retention_days",
        "seats",
        "stripe_price_id",
        "is_default",
    ]
    search_fields = ["name"]


@admin.register(WorkspacePlan)
class WorkspacePlanAdmin(admin.ModelAdmin):
    list_display = ["workspace", "plan", "status", "current_period_end", "updated_at"]
    list_filter = ["status", "plan"]
    search_fields = ["workspace__name", "stripe_customer_id", "stripe_subscription_id"]
    list_select_related = ["workspace", "plan"]


@admin.register(UsageCounter)
class UsageCounterAdmin(admin.ModelAdmin):
    # Counted by the proxies; an operator reads them, never edits them.
    list_display = ["key", "used", "expires_at"]
    search_fields = ["key"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(Budget)
class BudgetAdmin(admin.ModelAdmin):
    list_display = ["workspace", "scope", "scope_value", "usd", "period", "hard", "created_at"]
    list_filter = ["scope", "period", "hard"]
    search_fields = ["workspace__name", "scope_value"]


@admin.register(Webhook)
class WebhookAdmin(admin.ModelAdmin):
    list_display = ["workspace", "url", "created_at"]
    search_fields = ["workspace__name", "url"]
    exclude = ["secret"]  # signs deliveries; nobody needs to read it back


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(admin.ModelAdmin):
    list_display = ["webhook", "event_type", "attempts", "status_code", "error", "delivered_at", "created_at"]
    list_filter = ["event_type"]


@admin.register(AlertSent)
class AlertSentAdmin(admin.ModelAdmin):
    list_display = ["key", "created_at"]
    search_fields = ["key"]


@admin.register(StripeEventClaim)
class StripeEventClaimAdmin(admin.ModelAdmin):
    # Written by the Stripe webhook, once per event; dj-stripe's own tables hold the events themselves.
    list_display = ["event_id", "event_type", "created_at"]
    list_filter = ["event_type"]
    search_fields = ["event_id"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
