from django.contrib import admin
from django.urls import include, path

from accounts.clerk.webhooks import clerk_webhook
from optera import health
from optera.api import api

# A database that is down answers 503 with Retry-After, not a 500 (optera.unavailable).
handler500 = "optera.unavailable.server_error"

urlpatterns = [
    path("healthz", health.healthz),
    path("admin/", admin.site.urls),
    path("api/", api.urls),
    path("clerk/webhook/", clerk_webhook),
    # Stripe's webhooks: /stripe/webhook/<uuid>/, one per endpoint recorded by `stripe_webhook_endpoint`.
    path("stripe/", include("djstripe.urls", namespace="djstripe")),
    # The dashboard: each app serves the pages of the data it owns.
    path("", include("accounts.urls")),
    path("", include("analytics.urls")),
    path("", include("billing.urls")),
]
