from django.apps import AppConfig


class BillingConfig(AppConfig):
    name = "billing"

    def ready(self):
        from django.core.signals import setting_changed

        from billing import stripe_api, webhooks

        stripe_api.api_base_apply()
        setting_changed.connect(stripe_api.api_base_changed, dispatch_uid="billing.stripe_api_base")
        webhooks.connect()
