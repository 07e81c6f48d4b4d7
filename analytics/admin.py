from django.contrib import admin

from analytics.models import DailyUsage, ModelPrice, RequestLog


@admin.register(ModelPrice)
class ModelPriceAdmin(admin.ModelAdmin):
    list_display = [
        "provider",
        "model",
        "input_per_mtok",
        "output_per_mtok",
        "cached_input_per_mtok",
        "cache_write_per_mtok",
        "flex_input_per_mtok",
        "flex_output_per_mtok",
        "valid_from",
        "valid_to",
    ]
    list_filter = ["provider"]
    search_fields = ["model"]


@admin.register(RequestLog)
class RequestLogAdmin(admin.ModelAdmin):
    list_display = [
        "created_at",
        "workspace",
        "endpoint",
        "model_used",
        "status_code",
        "cache_status",
        "prompt_tokens",
        "completion_tokens",
        "cost_usd",
        "saved_usd",
        "total_ms",
    ]
    list_filter = ["endpoint", "provider", "cache_status", "tier", "provider_cache_ttl", "status_code", "stream"]
    search_fields = ["request_id", "workspace__name", "model_used"]
    date_hierarchy = "created_at"
    list_select_related = ["workspace"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(DailyUsage)
class DailyUsageAdmin(admin.ModelAdmin):
    # Sums kept as request logs are written; editing them by hand would make them disagree with the logs.
    list_display = ["day", "workspace", "model_used", "cache_status", "requests", "errors", "cost_usd", "saved_usd"]
    list_filter = ["cache_status", "provider"]
    search_fields = ["workspace__name", "model_used"]
    list_select_related = ["workspace"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
