from django.contrib import admin

from cachestore.models import CacheEntry, CompressedPrompt, ConversationSummary


@admin.register(CacheEntry)
class CacheEntryAdmin(admin.ModelAdmin):
    list_display = ["key_hash", "workspace", "kind", "model", "hit_count", "cost_usd", "created_at", "expires_at"]
    list_filter = ["kind", "provider", "expires_at"]
    search_fields = ["key_hash", "workspace__name", "model"]
    list_select_related = ["workspace"]
    exclude = ["embedding"]
    readonly_fields = [
        "workspace",
        "kind",
        "key_hash",
        "context_hash",
        "model",
        "provider",
        "response",
        "usage",
        "cost_usd",
        "fingerprint",
        "created_at",
        "hit_count",
        "last_hit_at",
    ]

    def has_add_permission(self, request):
        return False


@admin.register(CompressedPrompt)
class CompressedPromptAdmin(admin.ModelAdmin):
    list_display = ["prompt_hash", "workspace", "tokens_before", "tokens_after", "created_at", "last_used_at"]
    search_fields = ["prompt_hash", "workspace__name"]
    list_select_related = ["workspace"]
    readonly_fields = ["workspace", "prompt_hash", "tokens_before", "tokens_after", "created_at", "last_used_at"]


@admin.register(ConversationSummary)
class ConversationSummaryAdmin(admin.ModelAdmin):
    list_display = [
        "prefix_hash",
        "workspace",
        "messages_summarised",
        "tokens_before",
        "tokens_after",
        "model",
        "cost_usd",
        "created_at",
    ]
    search_fields = ["prefix_hash", "workspace__name"]
    list_filter = ["model"]
    list_select_related = ["workspace"]
    readonly_fields = [
        "workspace",
        "prefix_hash",
        "messages_summarised",
        "tokens_before",
        "tokens_after",
        "model",
        "cost_usd",
        "created_at",
        "last_used_at",
    ]
