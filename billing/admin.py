from django.contrib import admin

from billing.models import Plan


@admin.register(Plan)
class PlanAdmin(admin.ModelAdmin):
    list_display = ["name", "monthly_request_quota", "stripe_price_id", "is_default"]
    search_fields = ["name"]
