"""The billing page with Stripe on, in a real browser: accessible at 1280 and 375 px, and Upgrade reaches Checkout.

Stripe's API is the local fake of tests/billing; Stripe's own pages (Checkout) are answered by the
browser context itself, so nothing leaves the machine.
"""

import pytest
import stripe
from playwright.sync_api import expect

from tests.billing.fakestripe import FakeStripe
from tests.browser.conftest import DESKTOP, PHONE, page_width, screenshot, serious_axe_violations

pytestmark = [pytest.mark.django_db(transaction=True)]


@pytest.fixture
def paying_workspace(settings, people):
    """Acme on Pro, past due, with one open invoice; Team for sale; Stripe is the local fake."""
    from djstripe.models import Invoice as StripeInvoice

    from billing import services
    from billing.models import Plan

    fake = FakeStripe()
    fake.start()
    settings.STRIPE_API_BASE = fake.url
    settings.STRIPE_TEST_SECRET_KEY = fake.api_key
    fake.price_create(price_id="price_pro", product_name="Pro", unit_amount=2900)
    fake.price_create(price_id="price_team", product_name="Team", unit_amount=9900)
    Plan.objects.create(name="Free", monthly_request_quota=1000, is_default=True)
    Plan.objects.create(
        name="Pro", monthly_request_quota=100_000, monthly_spend_cap_usd=500, stripe_price_id="price_pro"
    )
    Plan.objects.create(name="Team", monthly_request_quota=1_000_000, stripe_price_id="price_team")
    for price_id in ("price_pro", "price_team"):
        services.stripe_price_sync(price_id=price_id)
    services.checkout_session_create(workspace=people.workspace, plan=Plan.objects.get(name="Pro"), return_url="x")
    (session,) = fake.of_type("checkout.session")
    _, subscription = fake.checkout_complete(session["id"], status="past_due")
    services.subscription_sync(subscription_id=subscription["id"])
    invoice = fake.invoice_create(subscription_id=subscription["id"], status="open")
    StripeInvoice.sync_from_stripe_data(
        stripe.Invoice.retrieve(invoice["id"], api_key=fake.api_key), api_key=fake.api_key
    )
    yield fake
    fake.stop()


@pytest.fixture
def fresh_workspace(settings, people):
    """Acme on the default plan, with Pro and Team for sale; Stripe is the local fake."""
    from billing.models import Plan

    fake = FakeStripe()
    fake.start()
    settings.STRIPE_API_BASE = fake.url
    settings.STRIPE_TEST_SECRET_KEY = fake.api_key
    fake.price_create(price_id="price_pro", product_name="Pro", unit_amount=2900)
    Plan.objects.create(name="Free", monthly_request_quota=1000, is_default=True)
    Plan.objects.create(name="Pro", monthly_request_quota=100_000, stripe_price_id="price_pro")
    yield fake
    fake.stop()


@pytest.mark.parametrize("width", [DESKTOP, PHONE])
def test_a_paying_workspaces_billing_page_is_accessible(new_page, people, paying_workspace, width):
    page = new_page(width=width, user=people.owner)
    page.goto(f"/w/{people.workspace.pk}/billing/")
    expect(page.get_by_role("heading", name="Invoices")).to_be_visible()
    expect(page.get_by_role("button", name="Manage billing")).to_be_visible()
    screenshot(page, "billing-stripe", width)
    problems = serious_axe_violations(page)
    if width == PHONE and (scroll_width := page_width(page)) > PHONE + 1:
        problems.append(f"the page is {scroll_width}px wide on a {PHONE}px phone")
    assert problems == []
    assert page.script_errors == []


def test_upgrade_takes_the_browser_to_stripe_checkout(new_page, people, fresh_workspace):
    page = new_page(user=people.admin)
    page.route("https://checkout.stripe.test/**", lambda route: route.fulfill(body="<title>Stripe Checkout</title>"))
    page.goto(f"/w/{people.workspace.pk}/billing/")
    page.get_by_role("button", name="Upgrade to Pro").click()
    expect(page).to_have_title("Stripe Checkout")
    (session,) = fresh_workspace.of_type("checkout.session")
    assert page.url == session["url"]
    assert session["client_reference_id"] == str(people.workspace.pk)
