from django.contrib import admin

from cachestore.models import CacheEntry


@admin.register(CacheEntry)
class CacheEntryAdmin(admin.ModelAdmin):
    list_display = ["key_hash", "workspace", "kind", "model", "hit_count", "cost_usd", "created_at", "expires_at"]
    list_filter = ["kind", "provider", "expires_at"]
    search_fields = ["key_hash", "workspace__name", "model"]
    list_select_related = ["workspace"]
    exclude = ["embedding"]
    readonly_fields = ["workspace", "kind", "key_hash", "context_hash", "model", "provider", "response", "usage",
                       "cost_usd", "fingerprint", "created_at", "hit_count", "last_hit_at"]

    def has_add_permission(self, request):
        return False
