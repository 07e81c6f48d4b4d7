from django.apps import AppConfig


class BillingConfig(AppConfig):
    name = "billing"

    def ready(self):
        from django.core.signals import setting_changed

        from accounts.signals import workspace_deleting, workspace_purging
        from billing import stripe_api, tasks, webhooks

        stripe_api.api_base_apply()
        setting_changed.connect(stripe_api.api_base_changed, dispatch_uid="billing.stripe_api_base")
        webhooks.connect()
        workspace_deleting.connect(
            tasks.deleted_workspace_subscription_cancel, dispatch_uid="billing.deleted_workspace_subscription_cancel"
        )
        workspace_purging.connect(
            tasks.purged_workspace_counters_forget, dispatch_uid="billing.purged_workspace_counters_forget"
        )
