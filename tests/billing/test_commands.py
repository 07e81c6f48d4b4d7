import io
import json
import uuid

import pytest
from django.core.management import CommandError, call_command
from django.urls import resolve
from djstripe.models import Price as StripePrice
from djstripe.models import WebhookEndpoint

from accounts import services as account_services
from billing.models import Plan, WorkspacePlan
from tests.billing.fakestripe import WEBHOOK_SECRET

pytestmark = pytest.mark.django_db


def run(*args):
    out = io.StringIO()
    call_command(*args, stdout=out, stderr=io.StringIO())
    return out.getvalue()


def run_json(*args):
    lines = run(*args, "--json").strip().splitlines()
    assert len(lines) == 1
    return json.loads(lines[0])


def test_create_plan_prints_the_plan_as_one_json_line():
    described = run_json(
        "create_plan", "Pro", "--monthly-requests", "100000", "--spend-cap-usd", "250.50", "--stripe-price", "price_pro"
    )
    plan = Plan.objects.get(pk=described["id"])
    assert described == {
        "id": plan.pk,
        "name": "Pro",
        "monthly_request_quota": 100000,
        "monthly_spend_cap_usd": "250.50",
        "stripe_price_id": "price_pro",
        "is_default": False,
    }
    assert (plan.monthly_request_quota, str(plan.monthly_spend_cap_usd), plan.stripe_price_id) == (
        100000,
        "250.50",
        "price_pro",
    )


def test_create_plan_without_quotas_is_unlimited():
    described = run_json("create_plan", "Enterprise")
    assert described["monthly_request_quota"] is None and described["monthly_spend_cap_usd"] is None


def test_a_new_default_plan_replaces_the_old_one():
    first = run_json("create_plan", "Free", "--monthly-requests", "1000", "--default")
    second = run_json("create_plan", "Hobby", "--monthly-requests", "5000", "--default")
    assert list(Plan.objects.filter(is_default=True).values_list("pk", flat=True)) == [second["id"]]
    assert Plan.objects.get(pk=first["id"]).is_default is False


@pytest.mark.parametrize(
    "arguments, message",
    [
        (["Free"], "exists already"),
        (["Other", "--spend-cap-usd", "ten"], "not an amount"),
        (["Other", "--spend-cap-usd", "-1"], "at least 0"),
        (["Other", "--spend-cap-usd", "1.005"], "dollars and cents"),
        (["Other", "--monthly-requests", "-5"], "0 or more"),
    ],
)
def test_create_plan_refuses_bad_arguments(arguments, message):
    run("create_plan", "Free")
    with pytest.raises(CommandError, match=message):
        run("create_plan", *arguments)
    assert Plan.objects.count() == 1


def test_with_billing_on_create_plan_syncs_the_price_from_stripe(fake_stripe):
    fake_stripe.price_create(price_id="price_pro", product_name="Pro", unit_amount=2900)
    run_json("create_plan", "Pro", "--stripe-price", "price_pro")
    price = StripePrice.objects.get(id="price_pro")
    assert (price.unit_amount, price.product.name) == (2900, "Pro")


def test_with_billing_on_create_plan_refuses_a_price_stripe_does_not_have(fake_stripe):
    with pytest.raises(CommandError, match="Stripe has no price 'price_nope'"):
        run("create_plan", "Pro", "--stripe-price", "price_nope")
    assert not Plan.objects.exists()
    assert fake_stripe.requested("GET", "/v1/prices/price_nope")


def test_set_plan_comps_a_workspace_by_name_or_id():
    acme = account_services.workspace_create(name="acme")
    run("create_plan", "Free", "--default")
    enterprise = Plan.objects.create(name="Enterprise")
    assert run_json("set_plan", "acme", "Enterprise") == {
        "workspace_id": acme.pk,
        "plan": "Enterprise",
        "status": "comped",
    }
    assert WorkspacePlan.objects.get(workspace=acme).plan == enterprise
    run("set_plan", str(acme.pk), str(enterprise.pk))
    assert WorkspacePlan.objects.get(workspace=acme).status == "comped"


def test_set_plan_to_the_default_plan_ends_the_comp():
    account_services.workspace_create(name="acme")
    run("create_plan", "Free", "--default")
    run("create_plan", "Enterprise")
    run("set_plan", "acme", "Enterprise")
    assert run_json("set_plan", "acme", "Free")["status"] == "active"


@pytest.mark.parametrize("workspace, plan, message", [("nope", "Free", "no workspace"), ("acme", "Gold", "no plan")])
def test_set_plan_refuses_what_does_not_exist(workspace, plan, message):
    account_services.workspace_create(name="acme")
    run("create_plan", "Free", "--default")
    with pytest.raises(CommandError, match=message):
        run("set_plan", workspace, plan)
    assert not WorkspacePlan.objects.exists()


def test_stripe_webhook_endpoint_records_the_secret_and_prints_dj_stripes_path():
    described = run_json("stripe_webhook_endpoint", "--secret", WEBHOOK_SECRET)
    endpoint = WebhookEndpoint.objects.get()
    assert described == {"path": f"/stripe/webhook/{endpoint.djstripe_uuid}/"}
    assert endpoint.secret == WEBHOOK_SECRET
    assert endpoint.djstripe_validation_method == "verify_signature"
    match = resolve(described["path"])
    assert match.view_name == "djstripe:djstripe_webhook_by_uuid" and match.kwargs["uuid"] == endpoint.djstripe_uuid
    # Run again with the same secret: the same endpoint, the same path.
    assert run_json("stripe_webhook_endpoint", "--secret", WEBHOOK_SECRET) == described
    assert WebhookEndpoint.objects.count() == 1


def test_each_secret_gets_its_own_endpoint():
    first = run_json("stripe_webhook_endpoint", "--secret", WEBHOOK_SECRET)
    second = run_json("stripe_webhook_endpoint", "--secret", "whsec_another_secret_0123456789")
    assert first != second
    assert {uuid.UUID(path.split("/")[-2]) for path in (first["path"], second["path"])} == set(
        WebhookEndpoint.objects.values_list("djstripe_uuid", flat=True)
    )


@pytest.mark.parametrize("secret", ["sk_test_123", "whsec_", "mysecret"])
def test_stripe_webhook_endpoint_refuses_anything_but_a_signing_secret(secret):
    with pytest.raises(CommandError, match="whsec_"):
        run("stripe_webhook_endpoint", "--secret", secret)
    assert not WebhookEndpoint.objects.exists()
