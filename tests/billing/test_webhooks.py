"""Stripe's webhooks, signed as Stripe signs them, through dj-stripe's endpoint to a workspace's plan.

These tests commit (the effect runs after the event's transaction commits, and the concurrent
deliveries use connections of their own), hence `transactional_db`.
"""

import json
import logging
import re
import threading
import time

import httpx
import pytest
from django.db import connection
from django.test import Client
from djstripe.models import Event, WebhookEventTrigger

from billing import selectors, services
from billing.models import WorkspacePlan
from tests.billing.fakestripe import MONTH_SECONDS, WEBHOOK_SECRET, signature_header, signed_post

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("tasks_run_inline")]
APPLY_TASK = "billing.tasks.stripe_event_apply"


@pytest.fixture
def subscribed(client, people, plans, fake_stripe, webhook_path):
    """Check out Pro as the owner; return the completed Checkout Session and its subscription (no event sent)."""
    client.force_login(people.owner)
    response = client.post(
        f"/api/workspaces/{people.workspace.pk}/billing/checkout", {"plan": "Pro"}, content_type="application/json"
    )
    assert response.status_code == 200
    (session,) = fake_stripe.of_type("checkout.session")
    return fake_stripe.checkout_complete(session["id"])


def plan_row(workspace):
    return WorkspacePlan.objects.select_related("plan").get(workspace=workspace)


def test_checkout_then_signed_events_put_the_workspace_on_the_paid_plan(
    client, people, plans, fake_stripe, webhook_path, subscribed
):
    session, subscription = subscribed
    assert selectors.workspace_limits(workspace_id=people.workspace.pk).monthly_requests == 1000

    response = signed_post(client, webhook_path, fake_stripe.event("checkout.session.completed", session))
    assert response.status_code == 200, response.content
    row = plan_row(people.workspace)
    assert (row.plan.name, row.status, row.stripe_subscription_id) == ("Pro", "active", subscription["id"])
    period_end = subscription["items"]["data"][0]["current_period_end"]
    assert row.current_period_end.timestamp() == period_end

    response = signed_post(client, webhook_path, fake_stripe.event("customer.subscription.created", subscription))
    assert response.status_code == 200
    limits = selectors.workspace_limits(workspace_id=people.workspace.pk)
    assert (limits.plan_name, limits.monthly_requests, limits.monthly_spend_usd) == ("Pro", 100_000, 500)
    assert Event.objects.count() == 2
    # The other workspace was never touched.
    assert selectors.plan_of(workspace=people.outsiders_workspace) == plans["free"]


def test_an_invoice_paid_event_shows_on_the_billing_page(client, people, fake_stripe, webhook_path, subscribed):
    _, subscription = subscribed
    invoice = fake_stripe.invoice_create(subscription_id=subscription["id"])
    assert signed_post(client, webhook_path, fake_stripe.event("invoice.paid", invoice)).status_code == 200
    assert plan_row(people.workspace).plan.name == "Pro"

    page = client.get(f"/w/{people.workspace.pk}/billing/").content.decode()
    assert invoice["number"] in page and "29.00 USD" in page and invoice["hosted_invoice_url"] in page


def forged_deliveries(event):
    """Ways a body can fail verification: (description, keyword arguments for signed_post)."""
    payload = json.dumps(event).encode()
    tampered = json.loads(payload)
    tampered["data"]["object"]["metadata"]["optera_workspace_id"] = "1"
    return {
        "signed with another secret": {"secret": "whsec_not_the_endpoints_secret_000"},
        "signed ten minutes ago": {"timestamp": int(time.time()) - 600},
        "re-serialised after signing": {"body": json.dumps(json.loads(payload), indent=2).encode()},
        "changed after signing": {"body": json.dumps(tampered).encode()},
        "no signature at all": {"headers_only": True},
    }


@pytest.mark.parametrize(
    "forgery",
    [
        "signed with another secret",
        "signed ten minutes ago",
        "re-serialised after signing",
        "changed after signing",
        "no signature at all",
    ],
)
def test_a_forged_stale_or_reserialised_body_is_refused_and_changes_nothing(
    client, people, fake_stripe, webhook_path, subscribed, task_runs, forgery
):
    _, subscription = subscribed
    event = fake_stripe.event("customer.subscription.created", subscription)
    arguments = forged_deliveries(event)[forgery]
    fetched_before = len(fake_stripe.requests)
    if arguments.pop("headers_only", False):
        response = client.post(webhook_path, data=json.dumps(event), content_type="application/json")
    else:
        response = signed_post(client, webhook_path, event, **arguments)

    assert response.status_code == 400
    assert plan_row(people.workspace).plan.name == "Free"
    assert not Event.objects.exists()
    assert task_runs == []
    assert len(fake_stripe.requests) == fetched_before  # nothing was fetched on the forged event's word
    # The same event, delivered as Stripe signs it, does change the plan: the refusal above was the signature's.
    assert signed_post(client, webhook_path, event).status_code == 200
    assert plan_row(people.workspace).plan.name == "Pro"


def test_with_debug_on_a_caller_cannot_supply_its_own_secret(
    client, people, fake_stripe, webhook_path, subscribed, settings
):
    # dj-stripe, with DEBUG on, checks the signature against an X-Djstripe-Webhook-Secret header if one is sent.
    settings.DEBUG = True
    _, subscription = subscribed
    forger_secret = "whsec_chosen_by_the_forger_0000000"
    event = fake_stripe.event("customer.subscription.created", subscription)
    response = signed_post(
        client, webhook_path, event, secret=forger_secret, **{"X-Djstripe-Webhook-Secret": forger_secret}
    )
    assert response.status_code == 400
    assert plan_row(people.workspace).plan.name == "Free"
    assert not Event.objects.exists()


def test_an_unknown_endpoint_is_a_404(client, fake_stripe, subscribed):
    _, subscription = subscribed
    event = fake_stripe.event("customer.subscription.created", subscription)
    assert signed_post(client, "/stripe/webhook/00000000-0000-4000-8000-000000000000/", event).status_code == 404
    assert not Event.objects.exists()


def test_the_same_event_delivered_ten_times_at_once_changes_the_workspace_once(
    people, fake_stripe, webhook_path, subscribed, task_runs, caplog
):
    _, subscription = subscribed
    event = fake_stripe.event("customer.subscription.created", subscription)
    start = threading.Barrier(10)
    statuses = []

    def deliver():
        try:
            start.wait()
            statuses.append(signed_post(Client(), webhook_path, event).status_code)
        finally:
            connection.close()

    caplog.set_level(logging.INFO, logger="billing.services")
    threads = [threading.Thread(target=deliver) for _ in range(10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert statuses == [200] * 10
    assert WebhookEventTrigger.objects.filter(valid=True).count() == 10
    assert Event.objects.filter(id=event["id"]).count() == 1
    assert task_runs.count(APPLY_TASK) == 1
    moves = [record for record in caplog.records if "now on" in record.getMessage()]
    assert [record.getMessage() for record in moves] == [
        f"workspace {people.workspace.pk}: now on Pro (active) by Stripe subscription {subscription['id']}"
    ]
    assert plan_row(people.workspace).plan.name == "Pro"


def test_the_effect_itself_applies_once_when_run_ten_times_at_once(people, fake_stripe, subscribed):
    # Celery may run a task twice (a worker lost after the broker's visibility timeout): the update is conditional.
    _, subscription = subscribed
    start = threading.Barrier(10)
    moved = []

    def apply():
        try:
            start.wait()
            moved.append(services.subscription_sync(subscription_id=subscription["id"]))
        finally:
            connection.close()

    threads = [threading.Thread(target=apply) for _ in range(10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(moved) == [False] * 9 + [True]
    assert plan_row(people.workspace).plan.name == "Pro"


def test_out_of_order_updates_resolve_by_the_subscriptions_state(client, people, fake_stripe, webhook_path, subscribed):
    _, subscription = subscribed
    signed_post(client, webhook_path, fake_stripe.event("customer.subscription.created", subscription))
    period_end = subscription["items"]["data"][0]["current_period_end"]
    # The renewal fails, then succeeds on retry, then the customer moves to Team; Stripe sends three updates...
    failed = fake_stripe.subscription_change(subscription["id"], status="past_due")
    recovered = fake_stripe.subscription_change(subscription["id"], status="active", period_end=period_end + 10)
    upgraded = fake_stripe.subscription_change(subscription["id"], price="price_team")
    updates = [fake_stripe.event("customer.subscription.updated", state) for state in (failed, recovered, upgraded)]

    # ...which arrive newest first.
    for update in reversed(updates):
        assert signed_post(client, webhook_path, update).status_code == 200
    row = plan_row(people.workspace)
    assert (row.plan.name, row.status) == ("Team", "active")
    assert row.current_period_end.timestamp() == period_end + 10


def test_a_stale_reading_does_not_overwrite_a_newer_one(people, plans, fake_stripe, subscribed):
    _, subscription = subscribed
    newer = fake_stripe.subscription_change(subscription["id"], status="active")
    older = {**newer, "status": "past_due"}
    WorkspacePlan.objects.filter(workspace=people.workspace).update(updated_at="2026-01-01T00:00:00Z")
    assert services.workspace_plan_apply_subscription(subscription=newer, fetched_at=ts("2026-06-01T00:00:02Z"))
    # A reading taken a second earlier, written a moment later, loses.
    assert not services.workspace_plan_apply_subscription(subscription=older, fetched_at=ts("2026-06-01T00:00:01Z"))
    assert plan_row(people.workspace).status == "active"
    # The same state read again later changes nothing either.
    assert not services.workspace_plan_apply_subscription(subscription=newer, fetched_at=ts("2026-06-01T00:00:03Z"))


def ts(text):
    from django.utils.dateparse import parse_datetime

    return parse_datetime(text)


def test_a_deleted_subscription_puts_the_workspace_back_on_the_default_plan(
    client, people, fake_stripe, webhook_path, subscribed
):
    _, subscription = subscribed
    signed_post(client, webhook_path, fake_stripe.event("customer.subscription.created", subscription))
    canceled = fake_stripe.subscription_change(subscription["id"], status="canceled", ended_at=int(time.time()))
    assert (
        signed_post(client, webhook_path, fake_stripe.event("customer.subscription.deleted", canceled)).status_code
        == 200
    )
    row = plan_row(people.workspace)
    assert (row.plan.name, row.status) == ("Free", "canceled")
    assert selectors.workspace_limits(workspace_id=people.workspace.pk).monthly_requests == 1000


def test_the_end_of_a_replaced_subscription_leaves_the_new_one_alone(
    client, people, plans, fake_stripe, webhook_path, subscribed
):
    _, old = subscribed
    signed_post(client, webhook_path, fake_stripe.event("customer.subscription.created", old))
    new = fake_stripe.subscription_create(
        customer=old["customer"],
        price=fake_stripe.get("price_team"),
        metadata=old["metadata"],
        status="active",
        period_end=int(time.time()) + MONTH_SECONDS,
    )
    signed_post(client, webhook_path, fake_stripe.event("customer.subscription.created", new))
    ended = fake_stripe.subscription_change(old["id"], status="canceled")
    signed_post(client, webhook_path, fake_stripe.event("customer.subscription.deleted", ended))
    row = plan_row(people.workspace)
    assert (row.plan.name, row.status, row.stripe_subscription_id) == ("Team", "active", new["id"])


def test_a_failed_payment_marks_the_plan_past_due_and_emails_the_managers_once(
    client, people, fake_stripe, webhook_path, subscribed, mailoutbox
):
    _, subscription = subscribed
    signed_post(client, webhook_path, fake_stripe.event("customer.subscription.created", subscription))
    fake_stripe.subscription_change(subscription["id"], status="past_due")
    invoice = fake_stripe.invoice_create(subscription_id=subscription["id"], status="open", attempt_count=1)
    event = fake_stripe.event("invoice.payment_failed", invoice)
    for _ in range(2):
        assert signed_post(client, webhook_path, event).status_code == 200
    row = plan_row(people.workspace)
    assert (row.plan.name, row.status) == ("Pro", "past_due")
    assert sorted(message.to[0] for message in mailoutbox) == ["admin@acme.test", "owner@acme.test"]
    assert "29.00 USD" in mailoutbox[0].body and invoice["hosted_invoice_url"] in mailoutbox[0].body


def test_a_comped_workspace_is_left_alone_by_stripe(client, people, plans, fake_stripe, webhook_path, subscribed):
    _, subscription = subscribed
    services.workspace_plan_set(workspace=people.workspace, plan=plans["team"])
    signed_post(client, webhook_path, fake_stripe.event("customer.subscription.created", subscription))
    row = plan_row(people.workspace)
    assert (row.plan.name, row.status) == ("Team", "comped")


def test_a_subscription_to_a_price_no_plan_sells_changes_nothing(client, people, fake_stripe, webhook_path, subscribed):
    _, subscription = subscribed
    fake_stripe.price_create(price_id="price_legacy", product_name="Legacy", unit_amount=100)
    legacy = fake_stripe.subscription_change(subscription["id"], price="price_legacy")
    assert (
        signed_post(client, webhook_path, fake_stripe.event("customer.subscription.created", legacy)).status_code == 200
    )
    assert plan_row(people.workspace).plan.name == "Free"


def test_a_subscription_naming_another_workspace_than_its_customers_is_ignored(
    client, people, fake_stripe, webhook_path, subscribed
):
    # Metadata and customer disagree (a subscription edited by hand in Stripe): neither workspace moves.
    client.force_login(people.outsider)
    client.post(
        f"/api/workspaces/{people.outsiders_workspace.pk}/billing/checkout",
        {"plan": "Pro"},
        content_type="application/json",
    )
    _, subscription = subscribed
    crossed = fake_stripe.subscription_change(
        subscription["id"], metadata={"optera_workspace_id": str(people.outsiders_workspace.pk)}
    )
    assert (
        signed_post(client, webhook_path, fake_stripe.event("customer.subscription.created", crossed)).status_code
        == 200
    )
    assert plan_row(people.outsiders_workspace).plan.name == "Free"
    assert plan_row(people.workspace).plan.name == "Free"


def test_the_webhook_answers_within_a_second_through_the_asgi_application(
    optera_server, people, fake_stripe, webhook_path, subscribed
):
    _, subscription = subscribed
    payload = json.dumps(fake_stripe.event("customer.subscription.created", subscription)).encode()
    headers = {"Stripe-Signature": signature_header(payload, WEBHOOK_SECRET), "Content-Type": "application/json"}
    started = time.monotonic()
    response = httpx.post(f"{optera_server.url}{webhook_path}", content=payload, headers=headers, timeout=10)
    elapsed = time.monotonic() - started
    assert response.status_code == 200
    assert plan_row(people.workspace).plan.name == "Pro"
    # dj-stripe's own syncing (five calls to the fake here) and, with tasks inline, the effect itself.
    assert elapsed < 1.0


def test_deleting_a_subscribed_workspace_cancels_its_subscription_once(
    client, people, fake_stripe, webhook_path, subscribed
):
    from accounts.services import workspace_delete

    _, subscription = subscribed
    signed_post(client, webhook_path, fake_stripe.event("customer.subscription.created", subscription))

    workspace_delete(workspace=people.workspace)
    workspace_delete(workspace=people.workspace)

    cancels = fake_stripe.requested("DELETE", f"/v1/subscriptions/{subscription['id']}")
    assert len(cancels) == 1
    assert fake_stripe.get(subscription["id"])["status"] == "canceled"
    # The other workspace's billing is untouched.
    assert len(fake_stripe.requested("DELETE", re.compile(r"/v1/subscriptions/.*"))) == 1


def test_deleting_a_comped_workspace_calls_stripe_for_nothing(people, plans, fake_stripe):
    from accounts.services import workspace_delete

    services.workspace_plan_set(workspace=people.workspace, plan=plans["team"])
    workspace_delete(workspace=people.workspace)

    assert fake_stripe.requested("DELETE", re.compile(r"/v1/subscriptions/.*")) == []
