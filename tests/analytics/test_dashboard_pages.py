"""The overview and the request log: figures from the request log's own accounting, few queries, no text."""

import datetime
from decimal import Decimal

import pytest
from django.utils import timezone

from analytics import services
from analytics.models import RequestLog

pytestmark = [pytest.mark.django_db]


def log(
    workspace, *, cost="0.001", saved="0", savings=None, status=200, cache="miss", model="gpt-4o-mini", ago=0, **fields
):
    return RequestLog(
        workspace=workspace,
        request_id=f"req_{RequestLog.objects.count()}_{ago}_{cost}",
        endpoint="chat.completions",
        model_requested=model,
        model_used=model,
        provider="openai",
        status_code=status,
        prompt_tokens=fields.pop("prompt_tokens", 100),
        completion_tokens=fields.pop("completion_tokens", 20),
        cost_usd=Decimal(cost),
        saved_usd=Decimal(saved),
        savings=savings or {},
        cache_status=cache,
        overhead_ms=fields.pop("overhead_ms", 0.5),
        created_at=timezone.now() - datetime.timedelta(days=ago),
        **fields,
    )


def store(rows):
    """Write logs the way the proxy does: the rows and their daily rollups together."""
    assert services.request_logs_store(rows=rows) == len(rows)


def test_the_overview_compares_spend_with_the_direct_cost(client, people):
    store(
        [
            log(people.workspace, cost="0.0030", ago=1),
            log(people.workspace, cost="0", saved="0.0030", savings={"cache": 0.003}, cache="hit", ago=1),
            log(people.workspace, cost="0.0010", saved="0.0020", savings={"routing": 0.002}, ago=2, model="gpt-4o"),
            log(people.workspace, cost="0", status=502, ago=2),
            log(people.workspace, cost="5", ago=40),  # outside 30 days
            log(people.outsiders_workspace, cost="7", ago=1),  # another workspace
        ]
    )
    client.force_login(people.member)
    context = client.get(f"/w/{people.workspace.pk}/").context
    overview = context["overview"]

    assert overview["cost_usd"] == Decimal("0.004") and overview["saved_usd"] == Decimal("0.005")
    assert overview["direct_usd"] == Decimal("0.009")
    assert round(overview["saved_percent"], 2) == 55.56
    assert (overview["requests"], overview["errors"], overview["exact_hits"]) == (4, 1, 1)
    assert overview["savings_by_kind"] == {"cache": 0.003, "routing": 0.002}
    assert context["chart"]["series"][0]["label"] == "spent"
    assert sum(context["chart"]["series"][0]["values"]) == pytest.approx(0.004)
    assert {series["label"] for series in context["chart"]["series"]} == {"spent", "saved: cache", "saved: routing"}


def test_the_period_can_be_7_30_or_90_days(client, people):
    store([log(people.workspace, ago=10), log(people.workspace, ago=60)])
    client.force_login(people.member)
    url = f"/w/{people.workspace.pk}/"
    assert client.get(url + "?days=7").context["overview"]["requests"] == 0
    assert client.get(url + "?days=90").context["overview"]["requests"] == 2
    assert client.get(url + "?days=abc").context["days"] == 30


def many_logs(workspace, count):
    store(
        [
            log(workspace, cost="0.001", saved="0.0005", savings={"cache": 0.0005}, ago=index % 30)
            for index in range(count)
        ],
    )


def test_the_overview_runs_a_fixed_number_of_queries(client, people, django_assert_max_num_queries):
    many_logs(people.workspace, 1000)
    client.force_login(people.member)
    with django_assert_max_num_queries(12):
        assert client.get(f"/w/{people.workspace.pk}/").status_code == 200


def test_the_request_log_pages_with_a_fixed_number_of_queries(client, people, django_assert_max_num_queries):
    many_logs(people.workspace, 1000)
    client.force_login(people.member)
    with django_assert_max_num_queries(10):
        first = client.get(f"/w/{people.workspace.pk}/requests/")
    assert len(first.context["rows"]) == 50 and first.context["older"]
    second = client.get(f"/w/{people.workspace.pk}/requests/?before={first.context['older']}")
    first_ids = {row.pk for row in first.context["rows"]}
    assert len(second.context["rows"]) == 50 and not first_ids & {row.pk for row in second.context["rows"]}


def test_the_request_log_filters_and_never_shows_a_prompt_hash_or_ip(client, people):
    store(
        [
            log(people.workspace, model="gpt-4o", cache="hit", prompt_hash="f" * 64, client_ip="203.0.113.9"),
            log(people.workspace, model="gpt-4o-mini", status=429),
            log(people.workspace, model="gpt-4o-mini", ago=3),
        ]
    )
    client.force_login(people.member)
    url = f"/w/{people.workspace.pk}/requests/"
    assert len(client.get(url + "?model=gpt-4o").context["rows"]) == 1
    assert len(client.get(url + "?status=error").context["rows"]) == 1
    assert len(client.get(url + "?cache=hit").context["rows"]) == 1
    day = (timezone.now() - datetime.timedelta(days=3)).date().isoformat()
    assert len(client.get(url + f"?day={day}").context["rows"]) == 1
    page = client.get(url).content.decode()
    assert "f" * 64 not in page and "203.0.113.9" not in page
    assert client.get(url + "?status=maybe").status_code == 200  # a bad filter is ignored, never a 500


def test_the_next_page_arrives_as_rows_for_htmx(client, people):
    many_logs(people.workspace, 60)
    client.force_login(people.member)
    first = client.get(f"/w/{people.workspace.pk}/requests/")
    partial = client.get(f"/w/{people.workspace.pk}/requests/?before={first.context['older']}", HTTP_HX_REQUEST="true")
    body = partial.content.decode()
    assert "<html" not in body and body.count("<tr") == 10
