from django.contrib import admin

from accounts.models import (
    ApiKey,
    ClerkIdentity,
    Invitation,
    Membership,
    OutboundEmail,
    Profile,
    Workspace,
    WorkspaceSettings,
)


class WorkspaceSettingsInline(admin.StackedInline):
    model = WorkspaceSettings
    can_delete = False


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    autocomplete_fields = ["user"]


@admin.register(Workspace)
class WorkspaceAdmin(admin.ModelAdmin):
    list_display = ["name", "id", "created_at", "deleted_at"]
    list_filter = [("deleted_at", admin.EmptyFieldListFilter)]
    search_fields = ["name"]
    date_hierarchy = "created_at"
    readonly_fields = ["deleted_at"]
    inlines = [WorkspaceSettingsInline, MembershipInline]


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ["user", "workspace", "role", "created_at"]
    list_filter = ["role"]
    search_fields = ["user__username", "user__email", "workspace__name"]
    autocomplete_fields = ["user", "workspace"]


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):
    # Only the preview is shown: the salt and hash are useless to an operator and should not leak.
    list_display = ["preview", "name", "workspace", "created_at", "last_used_at", "revoked_at"]
    list_filter = ["revoked_at", "created_at"]
    search_fields = ["preview", "public_id", "name", "workspace__name"]
    fields = ["workspace", "name", "preview", "public_id", "created_by", "created_at", "last_used_at", "revoked_at"]
    readonly_fields = ["preview", "public_id", "created_at", "last_used_at", "created_by"]
    actions = ["revoke"]

    def has_add_permission(self, request):
        # Keys are created where the full key can be shown once: the dashboard or create_api_key.
        return False

    @admin.action(description="Revoke the selected keys")
    def revoke(self, request, queryset):
        from accounts import services

        for api_key in queryset:
            services.api_key_revoke(api_key=api_key)


@admin.register(WorkspaceSettings)
class WorkspaceSettingsAdmin(admin.ModelAdmin):
    list_display = [
        "workspace",
        "cache_mode",
        "cache_ttl_seconds",
        "semantic_threshold",
        "routing_enabled",
        "summaries_enabled",
        "retention_days",
        "updated_at",
    ]
    list_filter = ["cache_mode", "routing_enabled", "summaries_enabled", "compression_enabled"]
    search_fields = ["workspace__name"]


@admin.register(ClerkIdentity)
class ClerkIdentityAdmin(admin.ModelAdmin):
    # Linking by hand is how a staff account gets Clerk sign-in: an email claim never links one.
    list_display = ["clerk_user_id", "user", "created_at"]
    search_fields = ["clerk_user_id", "user__username", "user__email"]
    autocomplete_fields = ["user"]
    readonly_fields = ["created_at"]


@admin.register(Profile)
class ProfileAdmin(admin.ModelAdmin):
    list_display = ["user", "email_verified_at", "adult_confirmed_at", "created_at"]
    search_fields = ["user__username", "user__email"]
    readonly_fields = ["created_at"]


@admin.register(Invitation)
class InvitationAdmin(admin.ModelAdmin):
    list_display = ["email", "workspace", "role", "created_at", "accepted_at", "revoked_at"]
    list_filter = ["role"]
    search_fields = ["email", "workspace__name"]
    readonly_fields = ["created_at", "accepted_at"]


@admin.register(OutboundEmail)
class OutboundEmailAdmin(admin.ModelAdmin):
    list_display = ["key", "template", "status", "attempts", "created_at", "sent_at"]
    list_filter = ["status", "template"]
    search_fields = ["key", "to", "provider_id"]
    date_hierarchy = "created_at"
    # The bodies are left out: until sent they hold working confirmation and password-reset links.
    fields = ["key", "template", "to", "subject", "status", "attempts", "provider_id", "error", "created_at", "sent_at"]
    readonly_fields = fields
    actions = ["send_again"]

    def has_add_permission(self, request):
        # Emails are recorded where their occasion happens (accounts.emails.email_send).
        return False

    @admin.action(description="Send the selected failed or logged emails again")
    def send_again(self, request, queryset):
        from accounts import emails

        queued = emails.emails_send_again(email_ids=list(queryset.values_list("pk", flat=True)))
        self.message_user(request, f"{queued} email(s) queued again.")
