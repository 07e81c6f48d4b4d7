"""POST /api/workspaces/{id}/billing/checkout and /portal, against the local fake Stripe."""

import threading

import pytest
from django.db import connection

from accounts import services as account_services
from billing import services
from billing.models import WorkspacePlan

pytestmark = pytest.mark.django_db


def checkout(client, workspace, plan="Pro"):
    return client.post(
        f"/api/workspaces/{workspace.pk}/billing/checkout", {"plan": plan}, content_type="application/json"
    )


def portal(client, workspace):
    return client.post(f"/api/workspaces/{workspace.pk}/billing/portal")


def stripe_writes(fake):
    return [request for request in fake.requests if request.method == "POST"]


@pytest.mark.parametrize("role", ["owner", "admin"])
def test_a_manager_gets_a_checkout_url_for_the_workspaces_own_customer(client, people, plans, fake_stripe, role):
    client.force_login(getattr(people, role))
    response = checkout(client, people.workspace)
    assert response.status_code == 200, response.content
    (session,) = fake_stripe.of_type("checkout.session")
    assert response.json() == {"url": session["url"]}

    (customer,) = fake_stripe.of_type("customer")
    assert customer["metadata"] == {"optera_workspace_id": str(people.workspace.pk)}
    sent = session["_params"]
    assert sent["mode"] == "subscription"
    assert sent["customer"] == customer["id"]
    assert sent["line_items"] == [{"price": "price_pro", "quantity": "1"}]
    assert sent["client_reference_id"] == str(people.workspace.pk)
    assert sent["subscription_data"] == {"metadata": {"optera_workspace_id": str(people.workspace.pk)}}
    assert sent["success_url"].startswith(f"http://testserver/w/{people.workspace.pk}/billing/")
    row = WorkspacePlan.objects.get(workspace=people.workspace)
    # The customer is recorded, but the workspace stays on the default plan until Stripe says it paid.
    assert (row.stripe_customer_id, row.plan, row.status) == (customer["id"], plans["free"], "active")


def test_the_customer_is_created_once_and_reused(client, people, plans, fake_stripe):
    client.force_login(people.owner)
    assert checkout(client, people.workspace).status_code == 200
    assert checkout(client, people.workspace, plan="Team").status_code == 200
    assert len(fake_stripe.requested("POST", "/v1/customers")) == 1
    first, second = fake_stripe.of_type("checkout.session")
    assert first["customer"] == second["customer"]


def test_each_workspace_has_its_own_customer(client, people, plans, fake_stripe):
    client.force_login(people.owner)
    checkout(client, people.workspace)
    client.force_login(people.outsider)
    checkout(client, people.outsiders_workspace)
    customers = {
        customer["metadata"]["optera_workspace_id"]: customer["id"] for customer in fake_stripe.of_type("customer")
    }
    assert set(customers) == {str(people.workspace.pk), str(people.outsiders_workspace.pk)}
    assert (
        WorkspacePlan.objects.get(workspace=people.outsiders_workspace).stripe_customer_id
        == customers[str(people.outsiders_workspace.pk)]
    )


@pytest.mark.parametrize("endpoint", [checkout, portal])
@pytest.mark.parametrize("who, status", [("outsider", 404), ("member", 403)])
def test_outsiders_and_members_are_refused_before_stripe_is_called(
    client, people, plans, fake_stripe, endpoint, who, status
):
    client.force_login(getattr(people, who))
    response = endpoint(client, people.workspace)
    assert response.status_code == status
    assert response.json()["error"]["type"] == ("invalid_request_error" if status == 404 else "permission_error")
    assert stripe_writes(fake_stripe) == []
    assert not WorkspacePlan.objects.filter(workspace=people.workspace).exists()


@pytest.mark.parametrize("endpoint", [checkout, portal])
def test_signed_out_callers_get_401(client, people, plans, fake_stripe, endpoint):
    assert endpoint(client, people.workspace).status_code == 401
    assert stripe_writes(fake_stripe) == []


@pytest.mark.parametrize(
    "body, message",
    [
        ({"plan": "Gold"}, "no plan named 'Gold'"),
        ({"plan": "Free"}, "not sold through Stripe"),
        ({"plan": ""}, "plan:"),
        ({"plan": "Pro", "price": "price_cheap"}, "price:"),
    ],
)
def test_checkout_refuses_a_plan_that_is_not_for_sale(client, people, plans, fake_stripe, body, message):
    client.force_login(people.owner)
    response = client.post(
        f"/api/workspaces/{people.workspace.pk}/billing/checkout", body, content_type="application/json"
    )
    assert response.status_code == 400
    assert message in response.json()["error"]["message"]
    assert stripe_writes(fake_stripe) == []


def test_with_billing_off_checkout_and_portal_say_so(client, people, plans, fake_stripe, settings):
    settings.STRIPE_TEST_SECRET_KEY = ""
    client.force_login(people.owner)
    for response in (checkout(client, people.workspace), portal(client, people.workspace)):
        assert response.status_code == 409
        assert response.json()["error"]["code"] == "billing_disabled"
    assert fake_stripe.requests == []


def test_a_comped_workspace_cannot_check_out(client, people, plans, fake_stripe):
    services.workspace_plan_set(workspace=people.workspace, plan=plans["team"])
    client.force_login(people.owner)
    response = checkout(client, people.workspace)
    assert response.status_code == 409 and response.json()["error"]["code"] == "plan_comped"
    assert stripe_writes(fake_stripe) == []


def test_a_subscribed_workspace_is_sent_to_the_portal_instead(client, people, plans, fake_stripe):
    WorkspacePlan.objects.create(
        workspace=people.workspace,
        plan=plans["pro"],
        status="active",
        stripe_customer_id="cus_existing",
        stripe_subscription_id="sub_existing",
    )
    client.force_login(people.owner)
    response = checkout(client, people.workspace, plan="Team")
    assert response.status_code == 409 and response.json()["error"]["code"] == "already_subscribed"
    assert stripe_writes(fake_stripe) == []


def test_without_a_default_plan_checkout_is_refused(client, people, plans, fake_stripe):
    plans["free"].is_default = False
    plans["free"].save()
    client.force_login(people.owner)
    response = checkout(client, people.workspace)
    assert response.status_code == 409 and response.json()["error"]["code"] == "no_default_plan"
    assert stripe_writes(fake_stripe) == []


def test_stripe_failing_is_a_502_in_the_shared_error_shape(client, people, plans, fake_stripe):
    plans["pro"].stripe_price_id = "price_deleted_in_stripe"
    plans["pro"].save()
    client.force_login(people.owner)
    response = checkout(client, people.workspace)
    assert response.status_code == 502
    assert response.json() == {
        "error": {
            "message": "Stripe could not do this just now; try again",
            "type": "upstream_error",
            "param": None,
            "code": "stripe_error",
        }
    }


def test_the_portal_opens_for_the_workspaces_customer(client, people, plans, fake_stripe):
    client.force_login(people.admin)
    response = portal(client, people.workspace)
    assert response.status_code == 409 and response.json()["error"]["code"] == "no_customer"

    checkout(client, people.workspace)
    response = portal(client, people.workspace)
    assert response.status_code == 200
    (session,) = fake_stripe.of_type("billing_portal.session")
    assert response.json() == {"url": session["url"]}
    assert session["customer"] == WorkspacePlan.objects.get(workspace=people.workspace).stripe_customer_id
    assert session["return_url"] == f"http://testserver/w/{people.workspace.pk}/billing/"


@pytest.mark.django_db(transaction=True)
def test_concurrent_first_checkouts_create_one_customer(plans, fake_stripe):
    acme = account_services.workspace_create(name="acme")
    start = threading.Barrier(6)
    errors = []

    def first_use():
        try:
            start.wait()
            services.stripe_customer_ensure(workspace=acme)
        except Exception as error:  # pragma: no cover - reported below
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=first_use) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert len(fake_stripe.requested("POST", "/v1/customers")) == 1
    assert WorkspacePlan.objects.get(workspace=acme).stripe_customer_id == fake_stripe.of_type("customer")[0]["id"]


def test_the_api_documents_both_endpoints(client):
    paths = client.get("/api/openapi.json").json()["paths"]
    assert "post" in paths["/api/workspaces/{workspace_id}/billing/checkout"]
    assert "post" in paths["/api/workspaces/{workspace_id}/billing/portal"]
