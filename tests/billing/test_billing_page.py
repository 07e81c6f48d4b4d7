"""The dashboard's billing page and its Upgrade and Manage buttons."""

import pytest
import stripe
from djstripe.models import Invoice as StripeInvoice

from billing import services
from billing.models import WorkspacePlan

pytestmark = pytest.mark.django_db


def page(client, workspace):
    return client.get(f"/w/{workspace.pk}/billing/")


def upgrade(client, workspace, plan="Pro"):
    return client.post(f"/w/{workspace.pk}/billing/checkout/", {"plan": plan})


def manage(client, workspace):
    return client.post(f"/w/{workspace.pk}/billing/portal/")


def test_with_billing_off_the_page_says_everyone_is_on_the_default_plan(client, people, settings):
    settings.STRIPE_TEST_SECRET_KEY = ""
    client.force_login(people.owner)
    response = page(client, people.workspace)
    assert response.status_code == 200
    assert "Billing is not set up on this installation" in response.content.decode()
    assert "Upgrade" not in response.content.decode()


def test_an_owner_sees_the_plan_usage_and_an_upgrade_per_paid_plan(client, people, plans, fake_stripe):
    services.stripe_price_sync(price_id="price_pro")
    client.force_login(people.owner)
    html = page(client, people.workspace).content.decode()
    assert "Free" in html and "of 1000" in html
    assert 'aria-label="Upgrade to Pro"' in html and 'aria-label="Upgrade to Team"' in html
    assert "$29.00 USD/month" in html  # the synced Stripe Price
    assert "Manage billing" not in html  # no Stripe customer yet


@pytest.mark.parametrize("who, status", [("member", 403), ("outsider", 404)])
def test_the_page_and_its_buttons_are_for_owners_and_admins(client, people, plans, fake_stripe, who, status):
    client.force_login(getattr(people, who))
    assert page(client, people.workspace).status_code == status
    assert upgrade(client, people.workspace).status_code == status
    assert manage(client, people.workspace).status_code == status
    assert [request for request in fake_stripe.requests if request.method == "POST"] == []


def test_upgrade_sends_the_browser_to_stripe_checkout(client, people, plans, fake_stripe):
    client.force_login(people.admin)
    response = upgrade(client, people.workspace)
    (session,) = fake_stripe.of_type("checkout.session")
    assert response.status_code == 302 and response["Location"] == session["url"]
    assert session["_params"]["line_items"] == [{"price": "price_pro", "quantity": "1"}]
    assert session["client_reference_id"] == str(people.workspace.pk)


def test_manage_sends_the_browser_to_the_customer_portal(client, people, plans, fake_stripe):
    client.force_login(people.owner)
    upgrade(client, people.workspace)
    assert "Manage billing" in page(client, people.workspace).content.decode()
    response = manage(client, people.workspace)
    (session,) = fake_stripe.of_type("billing_portal.session")
    assert response.status_code == 302 and response["Location"] == session["url"]


def test_a_refusal_comes_back_to_the_page_as_a_message(client, people, plans, fake_stripe):
    plans["pro"].stripe_price_id = "price_deleted_in_stripe"
    plans["pro"].save()
    client.force_login(people.owner)
    response = upgrade(client, people.workspace)
    assert response.status_code == 302 and response["Location"] == f"/w/{people.workspace.pk}/billing/"
    assert "Stripe could not do this just now; try again." in page(client, people.workspace).content.decode()


def test_a_paying_workspace_sees_its_plan_status_and_invoices(client, people, plans, fake_stripe):
    client.force_login(people.owner)
    upgrade(client, people.workspace)
    (session,) = fake_stripe.of_type("checkout.session")
    _, subscription = fake_stripe.checkout_complete(session["id"], status="past_due")
    services.subscription_sync(subscription_id=subscription["id"])
    invoice = fake_stripe.invoice_create(subscription_id=subscription["id"], status="open")
    # As dj-stripe's webhook handler does: fetched through stripe-python, then synced.
    StripeInvoice.sync_from_stripe_data(
        stripe.Invoice.retrieve(invoice["id"], api_key=fake_stripe.api_key), api_key=fake_stripe.api_key
    )

    html = page(client, people.workspace).content.decode()
    assert "Pro" in html and "Past Due" in html and "of 100000" in html
    assert "Stripe could not collect the last payment" in html
    assert invoice["number"] in html and "29.00 USD" in html
    assert 'aria-label="Upgrade to Team"' not in html  # a subscriber changes plans in the portal


def test_a_comped_workspace_is_told_who_sets_its_plan(client, people, plans, fake_stripe):
    services.workspace_plan_set(workspace=people.workspace, plan=plans["team"])
    client.force_login(people.owner)
    html = page(client, people.workspace).content.decode()
    assert "set by the operator" in html and "Upgrade" not in html
    assert WorkspacePlan.objects.get(workspace=people.workspace).status == "comped"


@pytest.mark.parametrize("outcome, message", [("done", "Thank you"), ("canceled", "Checkout was canceled")])
def test_the_page_acknowledges_the_return_from_checkout(client, people, plans, fake_stripe, outcome, message):
    client.force_login(people.owner)
    assert message in client.get(f"/w/{people.workspace.pk}/billing/?checkout={outcome}").content.decode()
