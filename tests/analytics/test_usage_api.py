"""The usage endpoint: a workspace's spend and savings by kind, cache status, model and day."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from analytics.models import RequestLog

pytestmark = [pytest.mark.django_db(transaction=True)]


def log(workspace, **fields):
    defaults = dict(request_id="req", endpoint="chat.completions", status_code=200, provider="openai")
    RequestLog.objects.create(workspace=workspace, **{**defaults, **fields})


def test_usage_sums_spend_and_savings_by_kind_for_the_workspace_only(client, tenants):
    acme, globex = tenants.owner.workspace, tenants.outsider.workspace
    log(
        acme,
        model_used="gpt-4o-mini",
        cost_usd=Decimal("0.002"),
        saved_usd=Decimal("0.010"),
        savings={"routing": 0.008, "compression": 0.002},
        cache_status="miss",
        prompt_tokens=100,
    )
    log(
        acme,
        model_used="gpt-4o",
        cost_usd=Decimal("0"),
        saved_usd=Decimal("0.030"),
        savings={"cache": 0.03},
        cache_status="hit",
        prompt_tokens=50,
    )
    log(acme, model_used="gpt-4o", status_code=502, cache_status="miss")
    log(acme, model_used="gpt-4o", cost_usd=Decimal("9"), created_at=timezone.now() - timedelta(days=40))
    log(globex, model_used="gpt-4o", cost_usd=Decimal("5"), saved_usd=Decimal("5"), savings={"cache": 5})
    client.force_login(tenants.member.user)

    usage = client.get(f"/api/workspaces/{acme.pk}/usage").json()

    assert usage["requests"] == 3 and usage["errors"] == 1 and usage["prompt_tokens"] == 150
    assert float(usage["cost_usd"]) == pytest.approx(0.002)
    assert float(usage["saved_usd"]) == pytest.approx(0.040)
    assert {kind: float(total) for kind, total in usage["savings_by_kind"].items()} == pytest.approx(
        {"cache": 0.03, "routing": 0.008, "compression": 0.002}
    )
    assert usage["cache"] == {"hit": 1, "miss": 2}
    assert {row["model_used"]: row["requests"] for row in usage["by_model"]} == {"gpt-4o-mini": 1, "gpt-4o": 2}
    assert sum(day["requests"] for day in usage["by_day"]) == 3
    longer = client.get(f"/api/workspaces/{acme.pk}/usage?days=60").json()
    assert longer["requests"] == 4


def test_usage_refuses_strangers_and_bad_ranges(client, tenants):
    acme = tenants.owner.workspace
    client.force_login(tenants.outsider.user)
    assert client.get(f"/api/workspaces/{acme.pk}/usage").status_code == 404
    client.force_login(tenants.owner.user)
    refused = client.get(f"/api/workspaces/{acme.pk}/usage?days=0")
    assert refused.status_code == 400 and "days" in refused.json()["error"]["message"]
    assert client.get(f"/api/workspaces/{acme.pk}/usage?days=ninety").status_code == 400


def test_usage_of_a_workspace_without_requests_is_zeros_and_empty_lists(client, tenants):
    client.force_login(tenants.member.user)

    usage = client.get(f"/api/workspaces/{tenants.owner.workspace.pk}/usage").json()

    assert usage["requests"] == usage["errors"] == usage["prompt_tokens"] == 0
    assert usage["cost_usd"] == 0 and usage["saved_usd"] == 0  # the number 0, as before the answer had a schema
    assert usage["savings_by_kind"] == usage["cache"] == {} and usage["by_model"] == usage["by_day"] == []
