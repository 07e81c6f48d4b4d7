"""Stripe's API as Optera calls it: the secret key dj-stripe picks, and the host it talks to.

stripe-python keeps its host in a module global, which dj-stripe's calls use too, so
`STRIPE_API_BASE` is applied there once at start (and again when a test changes the setting).
"""

import stripe
from django.conf import settings
from djstripe.settings import djstripe_settings


def api_key():
    """Return the secret key of the configured mode (test or live); "" when billing is off."""
    return djstripe_settings.STRIPE_SECRET_KEY


def billing_enabled():
    """Return whether Stripe is configured; without it every workspace is on the default plan."""
    return bool(api_key())


def api_base_apply():
    """Point stripe-python (and so dj-stripe) at `STRIPE_API_BASE`, or at Stripe itself when it is unset."""
    stripe.api_base = settings.STRIPE_API_BASE or stripe.DEFAULT_API_BASE


def api_base_changed(*, setting, **kwargs):
    """Re-apply the API host when a test overrides `STRIPE_API_BASE` (a `setting_changed` receiver)."""
    if setting == "STRIPE_API_BASE":
        api_base_apply()
