"""Spend by end user, tag, session, key and model: attribution on every request, reports that add up."""

import csv
import io
from collections import defaultdict
from decimal import Decimal

import openai
import pytest

from analytics.models import RequestLog
from tests.conftest import wait_for

pytestmark = [pytest.mark.django_db(transaction=True)]


def test_groups_by_user_and_tag_match_the_answers_costs(openai_client, tenants, client):
    costs_by_user, costs_by_tag = defaultdict(Decimal), defaultdict(Decimal)
    counts_by_user, counts_by_tag = defaultdict(int), defaultdict(int)
    for number in range(30):
        user = f"user-{number % 5}"
        tags = ["team:search", "batch"] if number % 3 == 0 else ["team:search"]
        headers = {"X-Optera-User": user, "X-Optera-Tags": ",".join(tags)}
        options = {}
        if number == 29:  # the OpenAI body's own `user` field, when the header is absent
            headers.pop("X-Optera-User")
            options["user"] = user = "body-user"
        answer = openai_client.chat.completions.with_raw_response.create(
            model="gpt-4o-mini",
            messages=[{"role": "user", "content": f"question number {number} " * (number + 1)}],
            extra_headers=headers,
            **options,
        )
        cost = Decimal(answer.headers["x-optera-cost-usd"])
        costs_by_user[user] += cost
        counts_by_user[user] += 1
        for tag in tags:
            costs_by_tag[tag] += cost
            counts_by_tag[tag] += 1
    wait_for(lambda: RequestLog.objects.count() == 30, timeout=15)

    client.force_login(tenants.member.user)
    url = f"/api/workspaces/{tenants.owner.workspace.pk}/usage"
    by_user = {group["key"]: group for group in client.get(url, {"group_by": "user"}).json()["groups"]}
    by_tag = {group["key"]: group for group in client.get(url, {"group_by": "tag"}).json()["groups"]}

    assert set(by_user) == set(costs_by_user) and "body-user" in by_user
    for user, cost in costs_by_user.items():
        assert abs(Decimal(by_user[user]["cost_usd"]) - cost) <= Decimal("0.000001")
        assert by_user[user]["requests"] == counts_by_user[user]
    assert set(by_tag) == {"team:search", "batch"}
    for tag, cost in costs_by_tag.items():
        assert abs(Decimal(by_tag[tag]["cost_usd"]) - cost) <= Decimal("0.000001")
        assert by_tag[tag]["requests"] == counts_by_tag[tag]
    costs = [Decimal(group["cost_usd"]) for group in client.get(url, {"group_by": "user"}).json()["groups"]]
    assert costs == sorted(costs, reverse=True)

    page = client.get(url, {"group_by": "user", "limit": 2, "offset": 2}).json()["groups"]
    assert len(page) == 2 and page[0]["key"] not in {group["key"] for group in list(by_user.values())[:0]}
    exported = list(csv.reader(io.StringIO(client.get(url, {"group_by": "tag", "format": "csv"}).content.decode())))
    assert exported[0][0] == "tag" and {row[0] for row in exported[1:]} == {"team:search", "batch"}


def test_groups_by_session_key_and_model(openai_client, tenants, client):
    for step in ("plan", "search/1", "search/2"):
        openai_client.chat.completions.create(
            model="gpt-4o-mini",
            messages=[{"role": "user", "content": f"step {step}"}],
            extra_headers={"X-Optera-Session": "run-7", "X-Optera-Session-Path": step},
        )
    wait_for(lambda: RequestLog.objects.count() == 3)
    assert sorted(RequestLog.objects.values_list("session_path", flat=True)) == ["plan", "search/1", "search/2"]
    client.force_login(tenants.owner.user)
    url = f"/api/workspaces/{tenants.owner.workspace.pk}/usage"
    assert client.get(url, {"group_by": "session"}).json()["groups"][0]["key"] == "run-7"
    assert client.get(url, {"group_by": "key"}).json()["groups"][0]["key"] == tenants.owner.key_row.preview
    assert client.get(url, {"group_by": "model"}).json()["groups"][0]["requests"] == 3
    assert client.get(url, {"format": "csv"}).status_code == 400
    # An offset past what PostgreSQL's bigint holds is the client's error (found by the /api fuzzer).
    too_far = client.get(url, {"group_by": "model", "offset": 13219606091792252407570759680})
    assert too_far.status_code == 400 and "offset" in too_far.json()["error"]["message"]
    client.force_login(tenants.outsider.user)
    assert client.get(url, {"group_by": "user"}).status_code == 404


@pytest.mark.parametrize(
    "header, value",
    [
        ("X-Optera-Tags", ",".join(f"t{number}" for number in range(11))),
        ("X-Optera-Tags", "x" * 65),
        ("X-Optera-Tags", "no spaces allowed"),
        ("X-Optera-User", "u" * 129),
        ("X-Optera-Session-Path", "../etc"),
    ],
)
def test_a_bad_attribution_header_is_a_400_naming_it_and_nothing_is_sent(openai_client, fake, header, value):
    with pytest.raises(openai.BadRequestError) as refused:
        openai_client.chat.completions.create(
            model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}], extra_headers={header: value}
        )
    assert refused.value.body["param"] == header and header in refused.value.message
    assert len(fake.requests) == 0
