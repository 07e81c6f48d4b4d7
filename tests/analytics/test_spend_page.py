"""The "Spend by" page and a session's timeline: the API's figures, shown to members, hidden from others."""

from decimal import Decimal

import pytest
from django.utils import timezone

from analytics.models import RequestLog


def logged(workspace, **fields):
    defaults = {"request_id": f"req_{RequestLog.objects.count()}", "endpoint": "chat.completions", "status_code": 200}
    return RequestLog.objects.create(workspace=workspace, **{**defaults, **fields})


@pytest.fixture
def traffic(people):
    base = timezone.now()
    for step, (user, cost) in enumerate([("alice", "0.30"), ("bob", "0.10"), ("alice", "0.20")]):
        logged(
            people.workspace,
            end_user=user,
            tags=["team:search"],
            session_id="run-7",
            session_path=f"plan/step/{step}",
            model_used="gpt-4o-mini",
            cost_usd=Decimal(cost),
            created_at=base.replace(microsecond=0) - timezone.timedelta(minutes=3 - step),
        )
    logged(people.outsiders_workspace, end_user="mallory", session_id="run-9", cost_usd=Decimal("9"))
    return people


def test_members_see_spend_by_end_user_with_the_api_s_figures(client, traffic):
    client.force_login(traffic.member)
    page = client.get(f"/w/{traffic.workspace.pk}/spend/?by=user&days=7")
    assert page.status_code == 200
    groups = {group["key"]: group for group in page.context["groups"]}
    assert groups["alice"]["cost_usd"] == Decimal("0.5") and groups["alice"]["requests"] == 2
    assert groups["bob"]["cost_usd"] == Decimal("0.1") and "mallory" not in groups
    assert page.context["chart"]["labels"][0] == "alice"
    api = client.get(f"/api/workspaces/{traffic.workspace.pk}/usage?days=7&group_by=user").json()
    assert {group["key"]: Decimal(str(group["cost_usd"])) for group in api["groups"]} == {
        "alice": Decimal("0.5"),
        "bob": Decimal("0.1"),
    }


def test_a_session_opens_as_its_timeline_and_another_workspace_s_is_a_404(client, traffic):
    client.force_login(traffic.member)
    sessions = client.get(f"/w/{traffic.workspace.pk}/spend/?by=session")
    assert f'href="/w/{traffic.workspace.pk}/spend/sessions/run-7/"' in sessions.content.decode()
    timeline = client.get(f"/w/{traffic.workspace.pk}/spend/sessions/run-7/")
    assert timeline.status_code == 200
    assert [row.session_path for row in timeline.context["requests"]] == ["plan/step/0", "plan/step/1", "plan/step/2"]
    assert timeline.context["cost_usd"] == Decimal("0.6")
    assert client.get(f"/w/{traffic.workspace.pk}/spend/sessions/run-9/").status_code == 404
    client.force_login(traffic.outsider)
    assert client.get(f"/w/{traffic.workspace.pk}/spend/").status_code == 404


def test_unknown_parameters_fall_back_to_the_defaults(client, traffic):
    client.force_login(traffic.owner)
    page = client.get(f"/w/{traffic.workspace.pk}/spend/?by=password&days=9999")
    assert page.status_code == 200 and page.context["by"] == "user" and page.context["days"] == 30
