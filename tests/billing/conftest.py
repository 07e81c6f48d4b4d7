"""Billing's fixtures: a local fake Stripe, plans that sell its prices, a recorded webhook endpoint.

Every billing test points stripe-python somewhere local: at the fake, or at a closed port, so
nothing here can reach api.stripe.com.
"""

import io
import json
import threading

import pytest
from django.core.management import call_command

from tests.billing.fakestripe import WEBHOOK_SECRET, FakeStripe

CLOSED_PORT_URL = "http://127.0.0.1:9"


@pytest.fixture(autouse=True)
def stripe_kept_local(settings):
    settings.STRIPE_API_BASE = CLOSED_PORT_URL


@pytest.fixture(scope="session")
def fake_stripe_server():
    fake = FakeStripe()
    fake.start()
    yield fake
    fake.stop()


@pytest.fixture
def fake_stripe(fake_stripe_server, settings):
    """The fake Stripe, emptied, with billing on (its test key configured and its address as the API base)."""
    fake_stripe_server.reset()
    settings.STRIPE_API_BASE = fake_stripe_server.url
    settings.STRIPE_TEST_SECRET_KEY = fake_stripe_server.api_key
    settings.STRIPE_LIVE_MODE = False
    yield fake_stripe_server
    fake_stripe_server.reset()


@pytest.fixture
def plans(fake_stripe):
    """A default Free plan and a Pro plan that sells the fake's price_pro."""
    from billing.models import Plan

    fake_stripe.price_create(price_id="price_pro", product_name="Pro", unit_amount=2900)
    fake_stripe.price_create(price_id="price_team", product_name="Team", unit_amount=9900)
    free = Plan.objects.create(name="Free", monthly_request_quota=1000, is_default=True)
    pro = Plan.objects.create(
        name="Pro", monthly_request_quota=100_000, monthly_spend_cap_usd=500, stripe_price_id="price_pro"
    )
    team = Plan.objects.create(name="Team", monthly_request_quota=1_000_000, stripe_price_id="price_team")
    return {"free": free, "pro": pro, "team": team}


@pytest.fixture
def webhook_path(db):
    """The path of a webhook endpoint recorded the way an operator does it."""
    out = io.StringIO()
    call_command("stripe_webhook_endpoint", "--secret", WEBHOOK_SECRET, "--json", stdout=out)
    return json.loads(out.getvalue())["path"]


@pytest.fixture
def task_runs():
    """The names of the Celery tasks that ran during the test, in order (from Celery's own signal)."""
    from celery.signals import task_prerun

    ran = []
    lock = threading.Lock()

    def record(sender=None, **kwargs):
        with lock:
            ran.append(sender.name)

    task_prerun.connect(record, weak=False)
    yield ran
    task_prerun.disconnect(record)
