"""The usage endpoint: a workspace's spend and savings by kind, cache status, model and day."""

from datetime import timedelta
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import timezone

from analytics.models import RequestLog
from analytics.services import request_logs_store

pytestmark = [pytest.mark.django_db(transaction=True)]


def log(workspace, **fields):
    """Store a log row as the proxy's log writer does: with its daily rollup."""
    defaults = dict(request_id="req", endpoint="chat.completions", status_code=200, provider="openai")
    request_logs_store(rows=[RequestLog(workspace=workspace, **{**defaults, **fields})])


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


def test_days_past_the_retention_are_reported_from_the_rollups_with_the_same_totals(client, tenants):
    acme = tenants.owner.workspace
    now = timezone.now()
    for days_ago, model, status, cost, savings in [
        (45, "gpt-4o", "miss", "0.5", {"routing": 0.25}),
        (40, "gpt-4o", "hit", "0", {"cache": 0.5}),
        (40, "gpt-4o-mini", "miss", "0.125", {}),
        (31, "claude-haiku-4-5", "semantic", "0", {"cache": 0.75, "compression": 0.125}),
        (2, "gpt-4o", "miss", "1", {"routing": 1}),
        (0, "gpt-4o-mini", "hit", "0", {"cache": 0.25}),
    ]:
        log(
            acme,
            created_at=now - timedelta(days=days_ago),
            model_used=model,
            cache_status=status,
            cost_usd=Decimal(cost),
            saved_usd=Decimal(str(sum(savings.values()))),
            savings=savings,
            prompt_tokens=100,
            completion_tokens=10,
        )
    client.force_login(tenants.member.user)
    before = client.get(f"/api/workspaces/{acme.pk}/usage?days=60").json()

    call_command("sweep", "logs", stdout=StringIO())

    assert RequestLog.objects.filter(workspace=acme).count() == 2  # 30 days' retention
    after = client.get(f"/api/workspaces/{acme.pk}/usage?days=60").json()
    assert before["requests"] == 6 and before["prompt_tokens"] == 600
    for figure in ("requests", "errors", "prompt_tokens", "completion_tokens", "cost_usd", "saved_usd", "cache"):
        assert after[figure] == before[figure], figure
    assert after["by_day"] == before["by_day"] and after["by_model"] == before["by_model"]
    assert {kind: float(total) for kind, total in after["savings_by_kind"].items()} == {
        "cache": 1.5,
        "compression": 0.125,
        "routing": 1.25,
    }
    assert after["savings_by_kind"] == before["savings_by_kind"]
