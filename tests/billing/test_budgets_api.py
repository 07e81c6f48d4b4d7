"""Budgets and the alerts' webhook through /api: members read, owners and admins set, outsiders see nothing."""

import openai
import pytest

from billing.models import Budget, Webhook, WebhookDelivery
from tests.conftest import PROVIDER_KEY_CANARY, wait_for

pytestmark = [pytest.mark.django_db(transaction=True)]


def api(client, user, method, path, **body):
    client.force_login(user)
    return getattr(client, method)(f"/api{path}", body or None, content_type="application/json")


def test_an_owner_sets_lists_replaces_and_deletes_a_budget(client, tenants):
    owner, workspace = tenants.owner.user, tenants.owner.workspace
    created = api(
        client, owner, "post", f"/workspaces/{workspace.pk}/budgets", scope="tag:search", usd="5", period="day"
    )
    assert created.status_code == 201
    body = created.json()
    assert body["scope"] == "tag:search" and body["period"] == "day" and body["hard"] is True
    assert (
        float(body["spent_usd"]) == 0 and body["resets_at"] and "tag search's $5.00 daily budget" in body["description"]
    )

    # The same scope and period again replaces it: one budget, now soft and larger.
    api(
        client,
        owner,
        "post",
        f"/workspaces/{workspace.pk}/budgets",
        scope="tag:search",
        usd="7.5",
        period="day",
        hard=False,
    )
    listed = api(client, tenants.member.user, "get", f"/workspaces/{workspace.pk}/budgets").json()
    assert [(item["scope"], item["usd"], item["hard"]) for item in listed] == [("tag:search", "7.50000000", False)]

    deleted = api(client, owner, "delete", f"/workspaces/{workspace.pk}/budgets/{body['id']}")
    assert deleted.status_code == 204 and not Budget.objects.exists()
    assert api(client, owner, "delete", f"/workspaces/{workspace.pk}/budgets/{body['id']}").status_code == 404


def test_the_budget_list_shows_what_the_period_has_spent(client, tenants, optera_server, fake):
    workspace = tenants.owner.workspace
    api(client, tenants.owner.user, "post", f"/workspaces/{workspace.pk}/budgets", usd="10", period="month")
    sdk = openai.OpenAI(
        base_url=optera_server.v1,
        api_key=tenants.owner.api_key,
        max_retries=0,
        default_headers={"X-Provider-Key": PROVIDER_KEY_CANARY},
    )
    answer = sdk.chat.completions.with_raw_response.create(
        model="gpt-4o-mini",
        messages=[{"role": "user", "content": "spend a little"}],
        extra_headers={"X-Optera-Cache": "off"},
    )
    cost = float(answer.headers["x-optera-cost-usd"])

    def spent():
        budgets = api(client, tenants.member.user, "get", f"/workspaces/{workspace.pk}/budgets").json()
        return float(budgets[0]["spent_usd"])

    assert wait_for(lambda: spent() == pytest.approx(cost, abs=1e-6) or None)


@pytest.mark.parametrize(
    "body, message",
    [
        ({"scope": "team:x", "usd": "5", "period": "day"}, "the scope is workspace"),
        ({"scope": "key:999999", "usd": "5", "period": "day"}, "no key 999999"),
        ({"scope": "key:abc", "usd": "5", "period": "day"}, "key:ID"),
        ({"scope": "workspace", "usd": "-1", "period": "day"}, "usd"),
        ({"scope": "workspace", "usd": "5", "period": "year"}, "period"),
        ({"scope": "workspace", "usd": "5", "period": "day", "color": "red"}, "color"),
    ],
)
def test_a_bad_budget_gets_a_400_naming_the_problem(client, tenants, body, message):
    answer = api(client, tenants.owner.user, "post", f"/workspaces/{tenants.owner.workspace.pk}/budgets", **body)
    assert answer.status_code == 400 and message in answer.json()["error"]["message"]
    assert not Budget.objects.exists()


def test_members_read_managers_write_outsiders_see_nothing(client, tenants):
    workspace = tenants.owner.workspace
    path = f"/workspaces/{workspace.pk}/budgets"
    assert api(client, tenants.member.user, "get", path).status_code == 200
    assert api(client, tenants.member.user, "post", path, usd="5", period="day").status_code == 403
    assert api(client, tenants.outsider.user, "get", path).status_code == 404
    assert api(client, tenants.member.user, "get", f"/workspaces/{workspace.pk}/webhook").status_code == 403
    budget = Budget.objects.create(workspace=workspace, scope="workspace", usd=5, period="day")
    outsiders = f"/workspaces/{tenants.outsider.workspace.pk}/budgets/{budget.pk}"
    assert api(client, tenants.outsider.user, "delete", outsiders).status_code == 404
    assert Budget.objects.filter(pk=budget.pk).exists()


def test_the_webhook_is_set_with_a_secret_shown_once_then_shown_without_it(client, tenants, settings):
    settings.OPTERA_WEBHOOK_ALLOW_PRIVATE = True
    owner, workspace = tenants.owner.user, tenants.owner.workspace
    path = f"/workspaces/{workspace.pk}/webhook"
    assert api(client, owner, "get", path).status_code == 404
    first = api(client, owner, "put", path, url="http://127.0.0.1:9/hooks").json()
    assert first["secret"].startswith("whsec_") and first["url"] == "http://127.0.0.1:9/hooks"
    second = api(client, owner, "put", path, url="http://127.0.0.1:9/hooks").json()
    assert second["secret"] != first["secret"]  # setting it again rotates the secret
    webhook = Webhook.objects.get(workspace=workspace)
    WebhookDelivery.objects.create(webhook=webhook, event_type="budget.threshold", payload={"threshold": 80})
    shown = api(client, owner, "get", path).json()
    assert "secret" not in shown and shown["deliveries"][0]["event_type"] == "budget.threshold"
    assert api(client, owner, "delete", path).status_code == 204 and not Webhook.objects.exists()


def test_a_webhook_to_a_private_address_is_refused(client, tenants, settings):
    settings.OPTERA_WEBHOOK_ALLOW_PRIVATE = False
    answer = api(
        client, tenants.owner.user, "put", f"/workspaces/{tenants.owner.workspace.pk}/webhook", url="http://10.0.0.5/x"
    )
    assert answer.status_code == 400 and "not a public address" in answer.json()["error"]["message"]
    assert not Webhook.objects.exists()
